"""The retry schedule: doubling from the base up to the most, jitter of up to half, the last try
at the end of the retry window, then given up."""

from __future__ import annotations

import random
from datetime import timedelta

from shared.core.clock import utcnow
from shared.core.settings import load_settings
from shared.webhooks.backoff import next_attempt_at, retry_delay

SETTINGS = load_settings(
    {
        "WEBHOOK_RETRY_BASE_SECONDS": "5",
        "WEBHOOK_RETRY_MAX_SECONDS": "3600",
        "WEBHOOK_RETRY_HOURS": "24",
    }
)


class Extremes(random.Random):
    """Jitter at one end of its range."""

    def __init__(self, high: bool) -> None:
        super().__init__()
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def test_delays_double_from_the_base_up_to_the_most() -> None:
    longest = [retry_delay(n, SETTINGS, Extremes(high=True)) for n in range(1, 14)]
    assert longest[:6] == [5, 10, 20, 40, 80, 160]
    assert longest[-1] == 3600 and max(longest) == 3600


def test_jitter_takes_up_to_half_of_the_delay() -> None:
    assert retry_delay(3, SETTINGS, Extremes(high=False)) == 10
    rng = random.Random(7)
    delays = [retry_delay(3, SETTINGS, rng) for _ in range(500)]
    assert all(10 <= delay <= 20 for delay in delays)
    assert len({round(delay, 3) for delay in delays}) > 400  # spread, not one value


def test_retries_stop_at_the_end_of_the_window() -> None:
    created = utcnow()
    early = next_attempt_at(1, created, created, SETTINGS)
    assert early is not None
    assert timedelta(seconds=2.5) <= early - created <= timedelta(seconds=5)
    near_end = created + timedelta(hours=24, seconds=-10)
    assert next_attempt_at(12, created, near_end, SETTINGS) == created + timedelta(hours=24)
    assert next_attempt_at(13, created, created + timedelta(hours=24), SETTINGS) is None


def test_a_day_of_retries_is_a_few_dozen_attempts() -> None:
    created = now = utcnow()
    failures = 0
    while (retry := next_attempt_at(failures + 1, created, now, SETTINGS)) is not None:
        failures += 1
        now = retry
    assert 25 <= failures <= 60
