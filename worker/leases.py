"""Keeps the leases of the jobs this process runs fresh, so the reconciler leaves them alone."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from shared.core.settings import get_settings
from shared.jobs.lifecycle import renew_leases
from worker.cancellation import cancel_registry

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(self) -> None:
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def holding(self, job_id: str, attempt: int) -> Iterator[None]:
        with self._lock:
            self._held[job_id] = attempt
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(job_id, None)

    def _run(self) -> None:
        interval = get_settings().JOB_LEASE_SECONDS / 3
        stop = threading.Event()
        while not stop.wait(interval):
            with self._lock:
                held = list(self._held.items())
            try:
                for job_id in renew_leases(held):
                    cancel_registry.request(job_id)
            except Exception:
                log.exception("could not renew job leases")


lease_keeper = LeaseKeeper()
