"""`GET /v1/jobs/{id}?wait=`: held until the job settles, woken by the process's status watch, or
by polling the database while Redis is away."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.core import redis_client
from shared.core.errors import NotFound
from shared.jobs import events, queries, states, status_watch
from shared.jobs.lifecycle import Claim, Outcome, claim_job, finish_job
from shared.jobs.queries import get_job
from shared.jobs.submission import JobSubmission, submit_job

WAIT = 5.0


def redis_away(*_args: object, **_kwargs: object) -> None:
    raise RedisConnectionError("redis is away")


@pytest.fixture()
def running(sent: list[str]) -> Claim:
    job, _ = submit_job(JobSubmission(user_id="u", kind="chat", request={"message": "hi"}))
    claim = claim_job(job.id)
    assert claim is not None
    return claim


@pytest.fixture()
def finished_soon(running: Claim) -> Iterator[Claim]:
    """The job completes a moment after the test starts waiting for it."""
    outcome = Outcome(status=states.COMPLETED, result={"output_text": "done"})
    timer = threading.Timer(0.3, finish_job, args=(running, outcome))
    timer.start()
    yield running
    timer.join()


def test_a_wait_answers_when_the_job_ends_not_when_the_wait_does(
    finished_soon: Claim, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the watch can wake it in time: neither polling nor the recheck comes within the wait.
    monkeypatch.setattr(queries, "FALLBACK_POLL_SECONDS", 60.0)
    monkeypatch.setattr(queries, "RECHECK_SECONDS", 60.0)
    started = time.monotonic()
    body = get_job("u", finished_soon.job_id, wait_seconds=WAIT)
    assert body["status"] == "completed" and body["result"] == {"output_text": "done"}
    assert time.monotonic() - started < WAIT / 2


def test_while_redis_is_away_a_wait_polls_the_database(
    finished_soon: Claim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_client, "redis_for", redis_away)
    started = time.monotonic()
    body = get_job("u", finished_soon.job_id, wait_seconds=WAIT)
    assert body["status"] == "completed"
    assert time.monotonic() - started < WAIT / 2
    assert not status_watch.watch.listening()


def test_the_watch_rings_a_job_s_waits_when_its_status_changes_and_no_other_job_s() -> None:
    with status_watch.watch.watching("job_c") as first:
        assert first.wait(WAIT)  # the watch subscribed: read the database once
    # Registered once the watch listens, so no subscription's ring is pending for them.
    with (
        status_watch.watch.watching("job_a") as notice,
        status_watch.watch.watching("job_b") as other,
    ):
        assert status_watch.watch.listening()
        events.publish_delta("job_a", "some text", 3)  # not a status: no one is woken
        assert not notice.wait(0.2)
        events.publish("job_a", "status", {"status": states.COMPLETED})
        assert notice.wait(WAIT)
        assert not other.wait(0.2)


@pytest.mark.parametrize(
    ("broken", "replacement"),
    [
        # Reads fail (fakeredis has no connection to lose: its reads do).
        pytest.param("redis.client.PubSub.get_message", redis_away, id="reads-fail"),
        # A connection dropped without being closed: reads time out and pings go unanswered.
        pytest.param("redis.client.PubSub.ping", lambda _self: None, id="pings-unanswered"),
    ],
)
def test_a_watch_that_loses_redis_wakes_every_wait_to_read_the_database(
    broken: str, replacement: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_watch, "READ_TIMEOUT_SECONDS", 0.1)
    with status_watch.watch.watching("job_a") as notice:
        assert notice.wait(WAIT)
        assert status_watch.watch.listening()
        monkeypatch.setattr(broken, replacement)
        assert notice.wait(WAIT)
        assert not status_watch.watch.listening()


def test_a_wait_ends_with_the_job_still_running_when_time_is_up(running: Claim) -> None:
    assert get_job("u", running.job_id, wait_seconds=0.2)["status"] == "in_progress"


def test_waiting_on_another_users_job_is_not_found(running: Claim) -> None:
    with pytest.raises(NotFound):
        get_job("someone-else", running.job_id, wait_seconds=WAIT)
