"""Stopping a running job when its caller cancels: a Redis channel says which job, and the
thread running it closes its upstream stream and cancels the upstream response."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis.exceptions import RedisError

from shared.core.openai_client import get_openai_client
from shared.core.redis_client import redis_for
from shared.core.settings import get_settings
from shared.jobs.control import CANCEL_CHANNEL

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The caller cancelled the job while it ran."""


class CancelToken:
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._stream: Any = None
        self.upstream_response_id: str | None = None

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled

    def watch(self, stream: Any, upstream_response_id: str | None = None) -> None:
        with self._lock:
            self._stream = stream
            if upstream_response_id:
                self.upstream_response_id = upstream_response_id
        if self.cancelled:
            self._close()

    def cancel(self) -> None:
        self._event.set()
        if self.upstream_response_id:
            try:
                get_openai_client().responses.cancel(self.upstream_response_id)
            except Exception as exc:  # the upstream may not support cancel: closing still stops us
                log.info("upstream cancel of %s failed: %s", self.upstream_response_id, exc)
        self._close()

    def _close(self) -> None:
        with self._lock:
            stream = self._stream
        if stream is None:
            return
        # The thread reading the stream is blocked in recv(); only shutting the socket down
        # wakes it (closing the response from here would wait for the next event).
        with contextlib.suppress(Exception):
            network = stream.response.extensions["network_stream"]
            network.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        try:
            stream.close()
        except Exception:
            log.debug("closing the stream of a cancelled job failed", exc_info=True)


class CancelRegistry:
    """The jobs this process runs, and one listener thread for cancel requests."""

    def __init__(self) -> None:
        self._tokens: dict[str, CancelToken] = {}
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None

    @contextmanager
    def running(self, job_id: str) -> Iterator[CancelToken]:
        token = CancelToken(job_id)
        with self._lock:
            self._tokens[job_id] = token
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(target=self._listen, name="cancel", daemon=True)
                self._listener.start()
        try:
            yield token
        finally:
            with self._lock:
                self._tokens.pop(job_id, None)

    def request(self, job_id: str) -> None:
        with self._lock:
            token = self._tokens.get(job_id)
        if token is not None and not token.cancelled:
            threading.Thread(target=token.cancel, name=f"cancel-{job_id}", daemon=True).start()

    def held(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def _listen(self) -> None:
        while True:
            try:
                pubsub = redis_for(get_settings().REDIS_URL, 10.0).pubsub()  # type: ignore[no-untyped-call]
                pubsub.subscribe(CANCEL_CHANNEL)
                while True:
                    message = pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if message is not None:
                        self.request(str(message["data"]))
            except RedisError as exc:
                log.warning("cancel listener lost redis (%s); the lease keeper still checks", exc)
                threading.Event().wait(1.0)


cancel_registry = CancelRegistry()
