"""One way a job ends: the worker's finish, the caller's cancel and the sweep's failure alike
write the status under the transition table's guard, free the conversation's next job, publish
the status event and ask for a dispatch pass."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from shared.core.clock import utcnow
from shared.core.db import read_session, write_session
from shared.core.models import Job
from shared.jobs import events, states
from shared.jobs.control import cancel_job
from shared.jobs.lifecycle import Outcome, claim_job, finish_job
from shared.jobs.sweeps import reconcile_jobs
from shared.jobs.transitions import Change, moving_jobs
from tests.unit.chats import submit


def _finish(job: Job) -> str:
    claim = claim_job(job.id)
    assert claim is not None
    finish_job(claim, Outcome(status=states.COMPLETED, result={"output_text": "ok"}))
    return states.COMPLETED


def _cancel(job: Job) -> str:
    cancel_job(job.user_id, job.id)
    return states.CANCELLED


def _time_out(job: Job) -> str:
    assert claim_job(job.id) is not None
    with write_session() as session:
        session.execute(
            update(Job).where(Job.id == job.id).values(started_at=utcnow() - timedelta(days=1))
        )
    reconcile_jobs()
    return states.FAILED


@pytest.mark.parametrize("end", [_finish, _cancel, _time_out], ids=["finish", "cancel", "sweep"])
def test_every_ending_frees_the_next_turn_and_tells_its_listeners(
    sent: list[str], end: Callable[[Job], str]
) -> None:
    first = submit("u")
    second = submit("u", first.conversation_id)
    assert sent == [first.id]

    status = end(first)

    with read_session() as session:
        ended = session.get(Job, first.id)
        assert ended is not None and ended.status == status
        assert ended.finished_at is not None and ended.queue_state is None
    assert sent == [first.id, second.id]
    published = [data for _, name, data in events.read(first.id) if name == "status"]
    assert published[-1]["status"] == status
    assert (published[-1]["error"] is None) == (status == states.COMPLETED)


def test_a_finished_job_is_never_moved_again(sent: list[str]) -> None:
    job = submit("u")
    _finish(job)
    with moving_jobs() as jobs:
        moved = jobs.move((Job.id == job.id,), Change(status=states.FAILED, error={"code": "x"}))
    assert moved == []
    with read_session() as session:
        finished = session.get(Job, job.id)
        assert finished is not None
        assert finished.status == states.COMPLETED and finished.error is None


def test_a_job_waiting_for_tool_outputs_keeps_its_conversation_turn(sent: list[str]) -> None:
    first = submit("u")
    second = submit("u", first.conversation_id)
    claim = claim_job(first.id)
    assert claim is not None
    waiting = {"type": "submit_tool_outputs", "tool_calls": []}
    finish_job(claim, Outcome(status=states.REQUIRES_ACTION, required_action=waiting))
    with read_session() as session:
        later = session.get(Job, second.id)
        assert later is not None and later.queue_state == states.BLOCKED
