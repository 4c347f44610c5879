"""The worker's writes to a job: claim it, keep its lease, record what the upstream made, finish.

Every write after the claim is fenced by the attempt number: a worker that lost its lease (and
whose job another worker took over) can no longer change the job or add to its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, bindparam, func, select, update
from sqlalchemy.orm import Session

from shared.core.clock import utcnow
from shared.core.db import (
    affected,
    insert_unless_present,
    one_of,
    read_session,
    row_values,
    write_session,
)
from shared.core.group_commit import Undo, grouped_write
from shared.core.models import Conversation, Job, Response
from shared.core.settings import get_settings
from shared.jobs import events, states
from shared.jobs.transitions import Change, JobMoves


@dataclass(frozen=True)
class Claim:
    """A job as a worker holds it for one attempt."""

    job_id: str
    attempt: int
    user_id: str
    kind: str
    request: dict[str, Any]
    conversation_id: str | None
    conversation_seq: int | None
    conversation_upstream_id: str | None
    conversation_last_response_id: str | None
    upstream_response_id: str | None
    pending_tool_outputs: list[Any] | None
    request_id: str | None
    created_at: datetime
    started_at: datetime


@dataclass
class Outcome:
    """How an attempt ended: the status to store and what goes with it."""

    status: str
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    required_action: dict[str, Any] | None = None
    # The attempt's last upstream response, added to the history in the same transaction.
    response: Response | None = None


def _lease_deadline() -> Any:
    return utcnow() + timedelta(seconds=get_settings().JOB_LEASE_SECONDS)


# What a claim reads back from the job's row (and its conversation's) in the UPDATE that takes it.
CLAIMED_COLUMNS = (
    Job.id,
    Job.attempts,
    Job.user_id,
    Job.kind,
    Job.request,
    Job.conversation_id,
    Job.conversation_seq,
    Job.upstream_response_id,
    Job.pending_tool_outputs,
    Job.request_id,
    Job.created_at,
    Job.started_at,
    select(Conversation.upstream_id)
    .where(Conversation.id == Job.conversation_id)
    .scalar_subquery()
    .label("conversation_upstream_id"),
    select(Conversation.last_response_id)
    .where(Conversation.id == Job.conversation_id)
    .scalar_subquery()
    .label("conversation_last_response_id"),
)


# A job's writes, built once and parameterised: building a statement costs a worker more CPU
# than SQLite takes to run it. Every write after the claim is fenced by the attempt.
_FENCE = (
    Job.id == bindparam("job_id"),
    Job.attempts == bindparam("attempt"),
    Job.status == states.IN_PROGRESS,
)
_CLAIM = (
    update(Job)
    .where(
        Job.id == bindparam("job_id"),
        Job.queue_state == states.SENT,
        one_of(Job.status, (states.QUEUED, states.IN_PROGRESS)),
    )
    .values(
        status=states.IN_PROGRESS,
        queue_state=None,
        attempts=Job.attempts + 1,
        started_at=func.coalesce(Job.started_at, bindparam("now", type_=Job.started_at.type)),
        lease_expires_at=bindparam("lease_until"),
    )
    .returning(*CLAIMED_COLUMNS)
)
_RENEW = update(Job).where(*_FENCE).values(lease_expires_at=bindparam("lease_until"))
# The job points at its latest upstream response; the tool outputs pending for it went with it.
_POINT_AT_RESPONSE = (
    update(Job)
    .where(*_FENCE)
    .values(upstream_response_id=bindparam("response_id"), pending_tool_outputs=None)
)
_ADOPT_UPSTREAM_CONVERSATION = (
    update(Conversation)
    .where(Conversation.id == bindparam("conversation_id"), Conversation.upstream_id.is_(None))
    .values(upstream_id=bindparam("upstream"))
)
_CONVERSATION_ROW = (
    update(Conversation)
    .where(Conversation.id == bindparam("conversation_id"))
    .returning(Conversation.jobs_submitted)
)
_LOCK_CONVERSATION = _CONVERSATION_ROW.values(jobs_submitted=Conversation.jobs_submitted)
_POINT_CONVERSATION = _CONVERSATION_ROW.values(last_response_id=bindparam("response_id"))


def claim_job(job_id: str) -> Claim | None:
    """Take a sent job for this worker; None if it is finished, held elsewhere or unknown."""
    now = utcnow()
    params = {"job_id": job_id, "now": now, "lease_until": _lease_deadline()}
    job = grouped_write(lambda session: session.connection().execute(_CLAIM, params).one_or_none())
    if job is None:
        return None
    claim = Claim(
        job_id=job.id,
        attempt=job.attempts,
        user_id=job.user_id,
        kind=job.kind,
        request=job.request,
        conversation_id=job.conversation_id,
        conversation_seq=job.conversation_seq,
        conversation_upstream_id=job.conversation_upstream_id,
        conversation_last_response_id=job.conversation_last_response_id,
        upstream_response_id=job.upstream_response_id,
        pending_tool_outputs=job.pending_tool_outputs,
        request_id=job.request_id,
        created_at=job.created_at,
        started_at=job.started_at or now,
    )
    events.publish(job_id, "status", {"status": states.IN_PROGRESS, "attempt": claim.attempt})
    return claim


def renew_leases(held: list[tuple[str, int]]) -> list[str]:
    """Extend the leases of the jobs this process runs; answer those whose caller cancelled."""
    if not held:
        return []
    deadline = _lease_deadline()
    with write_session() as session:
        session.connection().execute(
            _RENEW,
            [
                {"job_id": job_id, "attempt": attempt, "lease_until": deadline}
                for job_id, attempt in held
            ],
        )
        return list(
            session.scalars(
                select(Job.id).where(
                    Job.id.in_([job_id for job_id, _ in held]), Job.cancel_requested.is_(True)
                )
            )
        )


def record_upstream_response_id(
    claim: Claim, response_id: str, conversation_upstream_id: str | None = None
) -> bool:
    """Store the upstream response id as soon as it exists, so a retry can resume it; with it,
    the upstream conversation this attempt made for the job's, if any (see `adopt`)."""

    def record(session: Session) -> bool:
        if not _update_fenced(session, claim, _POINT_AT_RESPONSE, response_id=response_id):
            return False
        adopt(session, claim, conversation_upstream_id)
        return True

    return grouped_write(record)


def adopt(session: Session, claim: Claim, conversation_upstream_id: str | None) -> None:
    """Make `conversation_upstream_id`, the upstream conversation this attempt made, the job's
    conversation's upstream one, unless it has one already. It rides on the attempt's next write
    (the response's id, a stored response, or the end) instead of a transaction of its own: an
    attempt lost before that write leaves an empty upstream conversation behind, nothing it
    generated."""
    if conversation_upstream_id is not None and claim.conversation_id is not None:
        session.connection().execute(
            _ADOPT_UPSTREAM_CONVERSATION,
            {"conversation_id": claim.conversation_id, "upstream": conversation_upstream_id},
        )


def store_response(
    claim: Claim, response: Response, conversation_upstream_id: str | None = None
) -> bool:
    """Add one upstream response to the history, once, while this attempt still holds the job;
    with it, the upstream conversation this attempt made, if any (see `adopt`)."""

    def store(session: Session) -> bool:
        if not _update_fenced(session, claim, _POINT_AT_RESPONSE, response_id=response.id):
            return False
        adopt(session, claim, conversation_upstream_id)
        _add_response(session, response)
        if claim.conversation_id:
            lock_conversation(session, claim.conversation_id, response.id)
        return True

    return grouped_write(store)


def _update_fenced(session: Session, claim: Claim, statement: Update, **params: Any) -> bool:
    """Run one of the job's fenced writes; False if this attempt no longer holds the job."""
    fence = {"job_id": claim.job_id, "attempt": claim.attempt}
    return bool(affected(session, statement, {**fence, **params}))


def _add_response(session: Session, response: Response) -> None:
    """Add the response to the history once (an earlier attempt may have stored it)."""
    values = row_values(response)
    values["created_at"] = values["created_at"] or utcnow()
    insert_unless_present(session, Response, values)


def job_responses(job_id: str) -> list[Response]:
    """The responses a job has produced so far, in order."""
    with read_session() as session:
        return list(
            session.scalars(
                select(Response).where(Response.job_id == job_id).order_by(Response.created_at)
            )
        )


def finish_job(claim: Claim, outcome: Outcome, conversation_upstream_id: str | None = None) -> bool:
    """Store the attempt's outcome, and the upstream conversation it made, if any (see `adopt`);
    answer False if the attempt no longer holds the job."""
    response = outcome.response
    change = Change(
        status=outcome.status,
        result=outcome.result,
        error=outcome.error,
        required_action=outcome.required_action,
        response_id=response.id if response else None,
    )

    def finish(session: Session) -> JobMoves:
        jobs = JobMoves(session)
        if claim.conversation_id:
            lock_conversation(session, claim.conversation_id, change.response_id)
        if not jobs.move_held(claim.job_id, claim.attempt, change):
            # The job is another attempt's: the conversation must not point at this response.
            raise Undo(None)
        adopt(session, claim, conversation_upstream_id)
        if response is not None:
            _add_response(session, response)
        return jobs

    moved: JobMoves | None = grouped_write(finish)
    if moved is None:
        return False
    moved.announce()
    return True


def lock_conversation(
    session: Session, conversation_id: str, last_response_id: str | None = None
) -> int | None:
    """Take the conversation's row lock, so a concurrent submit sees this job's end or waits;
    given a response, the same statement makes it the conversation's latest. Answers how many
    jobs the conversation has been given (none is added until this transaction ends), or None
    if it is gone."""
    connection = session.connection()
    if last_response_id is None:
        return connection.execute(_LOCK_CONVERSATION, {"conversation_id": conversation_id}).scalar()
    return connection.execute(
        _POINT_CONVERSATION,
        {"conversation_id": conversation_id, "response_id": last_response_id},
    ).scalar()
