"""Writes a running job can't afford to lose: ride out a short database outage by retrying."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from shared.core.errors import DatabaseUnavailable
from shared.core.settings import get_settings

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_INTERVAL = 0.5


def persist(write: Callable[[], T]) -> T:
    """Run `write`, retrying while the database is unavailable, for up to two job leases.

    Giving up sooner would throw away work the upstream already did (a generation paid for).
    Retrying longer is pointless: once the database is back, the reconciler soon gives a job
    whose lease ran out to another worker, whose attempt number fences this one's writes out.
    """
    deadline = time.monotonic() + 2 * get_settings().JOB_LEASE_SECONDS
    while True:
        try:
            return write()
        except DatabaseUnavailable:
            if time.monotonic() > deadline:
                raise
            log.warning("database unavailable; retrying a job write in %.1f s", RETRY_INTERVAL)
            time.sleep(RETRY_INTERVAL)
