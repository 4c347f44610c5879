"""A caller steering a job: cancel it, or hand back the outputs of its function calls."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import and_, exists, or_, update

from shared.core.db import affected, write_session
from shared.core.errors import Conflict, InvalidInput
from shared.core.models import Job, Response
from shared.core.redis_client import get_redis
from shared.jobs import events, states
from shared.jobs.dispatch import dispatch_soon
from shared.jobs.lifecycle import lock_conversation
from shared.jobs.queries import get_job, load_job
from shared.jobs.transitions import Change, moving_jobs

CANCEL_CHANNEL = "gw:cancel"
CANCEL_WAIT_SECONDS = 2.0


def cancel_job(user_id: str, job_id: str) -> dict[str, Any]:
    """Cancel a queued or waiting job at once; ask the worker to stop a running one."""
    job = load_job(user_id, job_id)
    if job.status in states.TERMINAL:
        raise Conflict("job_not_cancellable", f"The job is already {job.status}.", "job_id")
    with moving_jobs() as jobs:
        if job.conversation_id:
            lock_conversation(jobs.session, job.conversation_id)
        stopped = jobs.move(
            (
                Job.id == job_id,
                # Not held by a worker: queued, waiting for tool outputs, or resumed with them
                # and waiting for its turn (a message on the broker finds it cancelled). Not a
                # job put back after its worker was lost while its response still generates
                # upstream: the next worker cancels that response and keeps its usage.
                or_(
                    Job.status.in_((states.QUEUED, states.REQUIRES_ACTION)),
                    and_(
                        Job.status == states.IN_PROGRESS,
                        Job.queue_state.is_not(None),
                        or_(
                            Job.upstream_response_id.is_(None),
                            exists().where(Response.id == Job.upstream_response_id),
                        ),
                    ),
                ),
            ),
            Change(status=states.CANCELLED, error=states.CANCELLED_ERROR),
        )
        if not stopped:
            jobs.session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == states.IN_PROGRESS)
                .values(cancel_requested=True)
            )
    if stopped:
        return get_job(user_id, job_id)
    get_redis().publish(CANCEL_CHANNEL, job_id)
    # A running job stops within a second or so; answer with it stopped if we can.
    deadline = time.monotonic() + CANCEL_WAIT_SECONDS
    body = get_job(user_id, job_id)
    while body["status"] not in states.TERMINAL and time.monotonic() < deadline:
        body = get_job(user_id, job_id, wait_seconds=deadline - time.monotonic())
    return body


def submit_tool_outputs(user_id: str, job_id: str, outputs: list[dict[str, str]]) -> dict[str, Any]:
    job = load_job(user_id, job_id)
    if job.status != states.REQUIRES_ACTION or not job.required_action:
        raise Conflict("job_not_waiting", f"The job is {job.status}, not waiting for tool outputs.")
    expected = {call["call_id"] for call in job.required_action["tool_calls"]}
    given = [output["call_id"] for output in outputs]
    for index, call_id in enumerate(given):
        if call_id not in expected:
            raise InvalidInput(
                "unknown_call_id",
                f"The job is not waiting on call {call_id!r}.",
                f"tool_outputs.{index}.call_id",
            )
    if len(set(given)) != len(given) or set(given) != expected:
        missing = ", ".join(sorted(expected - set(given))) or "none"
        raise InvalidInput(
            "tool_outputs_mismatch",
            f"Give exactly one output per waiting call (missing: {missing}).",
            "tool_outputs",
        )
    items = [
        {"type": "function_call_output", "call_id": o["call_id"], "output": o["output"]}
        for o in outputs
    ]
    with write_session() as session:
        resumed = affected(
            session,
            update(Job)
            .where(Job.id == job_id, Job.status == states.REQUIRES_ACTION)
            .values(
                status=states.IN_PROGRESS,
                queue_state=states.READY,
                required_action=None,
                pending_tool_outputs=[
                    *job.required_action.get("completed_tool_outputs", []),
                    *items,
                ],
            ),
        )
    if not resumed:
        raise Conflict("job_not_waiting", "The job is no longer waiting for tool outputs.")
    events.publish(job_id, "status", {"status": states.IN_PROGRESS, "error": None})
    dispatch_soon()
    return get_job(user_id, job_id)
