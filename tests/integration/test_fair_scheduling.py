"""Fair scheduling on a real stack: a user's backlog waits in the database behind their in-flight
limit, and another user's job goes ahead of it on a free worker slot."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from shared.core.models import Job
from tests.harness import Stack
from tests.integration.conftest import DATABASES, chat, running, wait_for_job

BACKLOG = 16
LIMIT = 2


@pytest.fixture(scope="module", params=DATABASES[-1:])
def capped(request: pytest.FixtureRequest) -> Iterator[Stack]:
    settings = {
        "OFFLINE_OPENAI_LATENCY_MS": "300",
        "USER_MAX_INFLIGHT": str(LIMIT),
        "RATE_LIMIT": "100000/minute",
    }
    stack = Stack(database=request.param, worker_concurrency=2 * LIMIT, settings=settings)
    with running(request, stack) as started:
        yield started


def test_a_newcomer_goes_ahead_of_another_users_backlog(capped: Stack) -> None:
    busy, newcomer = f"busy-{uuid.uuid4().hex[:6]}", f"new-{uuid.uuid4().hex[:6]}"
    with capped.client() as api:
        backlog = [chat(api, busy, f"backlog {n}")["id"] for n in range(BACKLOG)]
        queued = api.get("/v1/jobs", params={"user_id": busy, "status": "queued", "limit": 100})
        positions = [(job["id"], job["queue_position"]) for job in queued.json()["data"]]
        assert len(positions) >= BACKLOG - 2 * LIMIT  # the limit holds the rest back
        # Newest first; 1 is the next of the user's jobs to go, in submission order.
        assert [position for _, position in positions] == list(range(len(positions), 0, -1))
        assert [job_id for job_id, _ in reversed(positions)] == backlog[-len(positions) :]

        ahead = wait_for_job(api, chat(api, newcomer, "newcomer")["id"], newcomer)
        assert ahead["status"] == "completed"
        unfinished = [
            job
            for status in ("queued", "in_progress")
            for job in api.get(
                "/v1/jobs", params={"user_id": busy, "status": status, "limit": 100}
            ).json()["data"]
        ]
        # FIFO would have run the whole backlog first; here most of it is still waiting.
        assert len(unfinished) >= BACKLOG // 2

        done = [wait_for_job(api, job_id, busy, timeout=60) for job_id in backlog]
        assert {job["status"] for job in done} == {"completed"}
    assert _most_at_once(capped.database_url, busy) == LIMIT


def _most_at_once(database_url: str, user_id: str) -> int:
    """The most of a user's jobs that ran at the same moment, from their start and end times."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            spans = session.execute(
                select(Job.started_at, Job.finished_at).where(Job.user_id == user_id)
            ).all()
    finally:
        engine.dispose()
    changes: list[tuple[datetime, int]] = []
    for started_at, finished_at in spans:
        changes += [(started_at, 1), (finished_at, -1)]
    running = most = 0
    for _, change in sorted(changes):  # at a tie an end (-1) sorts before a start
        running += change
        most = max(most, running)
    return most
