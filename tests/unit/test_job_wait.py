"""`GET /v1/jobs/{id}?wait=`: held until the job settles, woken by its status event, or by polling
the database while Redis is away."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.core.errors import NotFound
from shared.jobs import events, states
from shared.jobs.lifecycle import Claim, Outcome, claim_job, finish_job
from shared.jobs.queries import get_job
from shared.jobs.submission import JobSubmission, submit_job

WAIT = 5.0


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


def test_a_wait_answers_when_the_job_ends_not_when_the_wait_does(finished_soon: Claim) -> None:
    started = time.monotonic()
    body = get_job("u", finished_soon.job_id, wait_seconds=WAIT)
    assert body["status"] == "completed" and body["result"] == {"output_text": "done"}
    assert time.monotonic() - started < WAIT / 2


def test_while_redis_is_away_a_wait_polls_the_database(
    finished_soon: Claim, monkeypatch: pytest.MonkeyPatch
) -> None:
    def away(*_args: object, **_kwargs: object) -> None:
        raise RedisConnectionError("redis is away")

    monkeypatch.setattr(events, "last_event_id", away)
    started = time.monotonic()
    body = get_job("u", finished_soon.job_id, wait_seconds=WAIT)
    assert body["status"] == "completed"
    assert time.monotonic() - started < WAIT / 2


def test_a_wait_ends_with_the_job_still_running_when_time_is_up(running: Claim) -> None:
    assert get_job("u", running.job_id, wait_seconds=0.2)["status"] == "in_progress"


def test_waiting_on_another_users_job_is_not_found(running: Claim) -> None:
    with pytest.raises(NotFound):
        get_job("someone-else", running.job_id, wait_seconds=WAIT)
