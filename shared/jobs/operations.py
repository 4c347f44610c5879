"""What an operator asks of a running gateway: the backlog, stuck jobs, one job sent again, one
conversation whole. The admin commands (`flask --app api ...`) and beat's metrics read these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from shared.core import task_names
from shared.core.clock import unix, utcnow
from shared.core.db import read_session, write_session
from shared.core.errors import Conflict, DomainError, not_found
from shared.core.models import Conversation, Job, Response
from shared.core.redis_client import get_redis
from shared.core.settings import get_settings
from shared.jobs import dispatch, states
from shared.views import conversation_body, job_body, response_body

QUEUES = (task_names.JOBS_QUEUE, task_names.MAINTENANCE_QUEUE, task_names.WEBHOOKS_QUEUE)


def queue_depths() -> dict[str, int]:
    """Messages waiting on each Celery queue in Redis."""
    pipe = get_redis().pipeline(transaction=False)
    for queue in QUEUES:
        pipe.llen(queue)
    return dict(zip(QUEUES, pipe.execute(), strict=True))


def active_jobs() -> dict[str, int]:
    """Unfinished jobs by status; served by the (status, …) indexes."""
    query = (
        select(Job.status, func.count()).where(Job.status.in_(states.ACTIVE)).group_by(Job.status)
    )
    with read_session() as session:
        counts = {status: count for status, count in session.execute(query)}
    return {status: counts.get(status, 0) for status in sorted(states.ACTIVE)}


def queued_jobs_by_state() -> dict[str, int]:
    """Queued jobs by where they wait: blocked behind their conversation, ready, or sent."""
    query = (
        select(Job.queue_state, func.count())
        .where(Job.queue_state.is_not(None))
        .group_by(Job.queue_state)
    )
    with read_session() as session:
        counts = {state: count for state, count in session.execute(query)}
    queue_states = (states.BLOCKED, states.READY, states.SENT)
    return {state: counts.get(state, 0) for state in queue_states}


@dataclass(frozen=True)
class StuckJob:
    id: str
    user_id: str
    status: str
    queue_state: str | None
    attempts: int
    since: datetime

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "status": self.status,
            "queue_state": self.queue_state,
            "attempts": self.attempts,
            "age_seconds": round((utcnow() - self.since).total_seconds()),
        }


def stuck_jobs(older_than_seconds: float | None = None, limit: int = 100) -> list[StuckJob]:
    """Jobs sent to the broker but not started, or running, for longer than `older_than_seconds`
    (default RESEND_AFTER_SECONDS, when the reconciler starts to act on a sent job)."""
    seconds = (
        get_settings().RESEND_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    )
    before = utcnow() - timedelta(seconds=seconds)
    query = (
        select(Job)
        .where(
            or_(
                (Job.queue_state == states.SENT) & (Job.dispatched_at < before),
                (Job.status == states.IN_PROGRESS)
                & Job.queue_state.is_(None)
                & (Job.started_at < before),
            )
        )
        .order_by(Job.id)
        .limit(limit)
    )
    with read_session() as session:
        return [
            StuckJob(
                id=job.id,
                user_id=job.user_id,
                status=job.status,
                queue_state=job.queue_state,
                attempts=job.attempts,
                since=(job.dispatched_at if job.queue_state else job.started_at) or utcnow(),
            )
            for job in session.scalars(query)
        ]


def resend_job(job_id: str) -> None:
    """Send a queued job's message to the broker again now (a duplicate is a no-op for the
    worker). A ready job is marked sent ahead of its turn; a job blocked behind its
    conversation, running or finished is refused."""
    with write_session() as session:
        # Conditional, so a worker claiming the job meanwhile is never undone.
        marked = session.scalar(
            update(Job)
            .where(Job.id == job_id, Job.queue_state.in_((states.READY, states.SENT)))
            .values(queue_state=states.SENT, dispatched_at=utcnow())
            .returning(Job.id)
        )
        if marked is None:
            raise _not_resendable(session.get(Job, job_id))
    dispatch.send_job(job_id)


def _not_resendable(job: Job | None) -> DomainError:
    if job is None:
        return not_found("job")
    if job.queue_state == states.BLOCKED:
        return Conflict("job_blocked", "The job waits for an earlier job of its conversation.")
    return Conflict("job_not_queued", f"The job is {job.status}: nothing to send.")


def export_conversation(conversation_id: str) -> dict[str, Any]:
    """A conversation whole: its fields, its jobs in order and the responses they made."""
    with read_session() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise not_found("conversation")
        jobs = session.scalars(
            select(Job).where(Job.conversation_id == conversation_id).order_by(Job.conversation_seq)
        )
        responses = session.scalars(
            select(Response)
            .where(Response.conversation_id == conversation_id)
            .order_by(Response.created_at)
        )
        return {
            **conversation_body(conversation, get_settings().conversation_ttl_seconds),
            "upstream_id": conversation.upstream_id,
            "exported_at": unix(utcnow()),
            "jobs": [{**job_body(job), "request": job.request} for job in jobs],
            "responses": [response_body(response) for response in responses],
        }
