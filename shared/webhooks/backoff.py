"""When a failed delivery is tried again: exponential backoff with jitter, within the retry
window, then given up."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from shared.core.settings import Settings


def retry_delay(failures: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Seconds before the try after the `failures`-th failure: the base doubled at each failure
    up to the most, less a random part of up to half ("equal jitter"), so receivers that all
    failed at once are not all tried again at once."""
    ceiling = min(
        settings.WEBHOOK_RETRY_BASE_SECONDS * 2.0 ** (failures - 1),
        settings.WEBHOOK_RETRY_MAX_SECONDS,
    )
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def next_attempt_at(
    failures: int,
    created_at: datetime,
    now: datetime,
    settings: Settings,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try a delivery again after its `failures`-th failure, or None: give up (its
    retry window, WEBHOOK_RETRY_HOURS from its event, is over). The last try falls at the
    window's end."""
    deadline = created_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    if now >= deadline:
        return None
    return min(now + timedelta(seconds=retry_delay(failures, settings, rng)), deadline)
