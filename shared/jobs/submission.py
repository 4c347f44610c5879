"""Accepting work: a job row (and its conversation's turn) committed before anything is sent."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.accounts.budgets import check_budget
from shared.accounts.tokens import ensure_user
from shared.core.clock import utcnow
from shared.core.db import insert_new, one_of, write_session
from shared.core.errors import Conflict, InvalidInput, not_found
from shared.core.group_commit import grouped_write
from shared.core.ids import new_id
from shared.core.models import Conversation, Job
from shared.core.settings import get_settings
from shared.jobs import dispatch, states

IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class JobSubmission:
    user_id: str
    kind: Literal["chat", "response"]
    request: dict[str, Any]
    conversation_id: str | None = None
    new_conversation: bool = False
    conversation_metadata: dict[str, str] | None = None
    on_busy: Literal["queue", "reject"] = "queue"
    idempotency_key: str | None = None
    request_id: str | None = None
    # Where the job's events go, signed with the secret of the token that submitted it.
    webhook_url: str | None = None
    webhook_token_id: int | None = None

    def request_hash(self) -> str:
        canonical: dict[str, Any] = {
            "kind": self.kind,
            "request": self.request,
            "conversation_id": self.conversation_id,
            "metadata": self.conversation_metadata,
            "on_busy": self.on_busy,
        }
        if self.webhook_url is not None:  # so the hashes of submits without one stay as they were
            canonical["webhook_url"] = self.webhook_url
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def submit_job(submission: JobSubmission) -> tuple[Job, bool]:
    """Store the job (and its new conversation), and send it or ask for a dispatch pass; answer
    (job, created)."""
    check_budget(submission.user_id)
    digest = submission.request_hash() if submission.idempotency_key else None
    # Built before the write transaction: on SQLite its time is the one writer's turn.
    job, conversation = _new_rows(submission, digest)

    def store(session: Session) -> tuple[Job, dispatch.Placement | None]:
        if submission.idempotency_key:
            earlier = _earlier_job(session, submission, digest)
            if earlier is not None:
                return earlier, None
        return job, _store_job(session, submission, job, conversation)

    try:
        stored, placement = grouped_write(store)
    except IntegrityError:
        if not submission.idempotency_key:
            raise
        # Another request with the same idempotency key won the race: answer with its job.
        with write_session() as session:
            earlier = _earlier_job(session, submission, digest)
        if earlier is None:
            raise
        return earlier, False
    if placement is None:
        return stored, False
    if placement is dispatch.Placement.SENT:
        dispatch.send_job(job.id)
    elif placement is dispatch.Placement.PASS:
        dispatch.dispatch_soon()
    return job, True


def _earlier_job(session: Session, submission: JobSubmission, digest: str | None) -> Job | None:
    earlier = session.scalar(
        select(Job).where(
            Job.user_id == submission.user_id, Job.idempotency_key == submission.idempotency_key
        )
    )
    if earlier is None:
        return None
    if earlier.created_at < utcnow() - IDEMPOTENCY_WINDOW:
        earlier.idempotency_key = None  # the key has expired: free it for this request
        session.flush()
        return None
    if earlier.request_hash != digest:
        raise InvalidInput(
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request body.",
            "Idempotency-Key",
        )
    return earlier


def _new_rows(submission: JobSubmission, digest: str | None) -> tuple[Job, Conversation | None]:
    """The job as submitted (its id, turn and queue state are set where it is stored) and the
    conversation it starts, if it starts one."""
    now = utcnow()
    conversation = None
    if submission.conversation_id is None and submission.new_conversation:
        conversation = Conversation(
            id=new_id("conv"),
            user_id=submission.user_id,
            status="active",
            meta=submission.conversation_metadata or {},
            jobs_submitted=1,
            created_at=now,
            last_active_at=now,
        )
    job = Job(
        user_id=submission.user_id,
        conversation_id=conversation.id if conversation else submission.conversation_id,
        kind=submission.kind,
        status=states.QUEUED,
        request=submission.request,
        idempotency_key=submission.idempotency_key,
        request_hash=digest,
        request_id=submission.request_id,
        webhook_url=submission.webhook_url,
        webhook_token_id=submission.webhook_token_id,
        attempts=0,
        lost_attempts=0,
        cancel_requested=False,
        created_at=now,
    )
    return job, conversation


def _store_job(
    session: Session, submission: JobSubmission, job: Job, conversation: Conversation | None
) -> dispatch.Placement:
    """Insert the job (taking its conversation's turn, or starting the conversation) and answer
    where it goes next."""
    ensure_user(session, submission.user_id)
    blocked = False
    if submission.conversation_id is not None:
        conversation_id = submission.conversation_id
        job.conversation_seq = take_conversation_turn(session, job.user_id, conversation_id)
        blocked = (
            session.scalar(
                select(
                    exists().where(
                        Job.conversation_id == conversation_id,
                        one_of(Job.status, states.ACTIVE),
                    )
                )
            )
            or False
        )
        if blocked and submission.on_busy == "reject":
            raise Conflict(
                "conversation_busy",
                "The conversation has a job in progress; retry later or submit with on_busy=queue.",
                "conversation_id",
            )
    elif conversation is not None:
        job.conversation_seq = 1
        insert_new(session, conversation)
    if blocked:
        placement, job.queue_state = dispatch.Placement.HELD, states.BLOCKED
    else:
        placement = dispatch.place_new_job(session, job.user_id)
        sent = placement is dispatch.Placement.SENT
        job.queue_state = states.SENT if sent else states.READY
        job.dispatched_at = job.created_at if sent else None
    # Ids sort in the order jobs are stored: a conversation's jobs in id order are its turns.
    job.id = new_id("job")
    insert_new(session, job)
    return placement


def take_conversation_turn(session: Session, user_id: str, conversation_id: str) -> int:
    """Count a new job into an active conversation and answer its turn number.

    The UPDATE locks the conversation's row, so submits to one conversation commit one at a
    time and their turns follow submission order; a conversation past its TTL is refused here
    even before the expiry sweep has run.
    """
    now = utcnow()
    ttl = timedelta(seconds=get_settings().conversation_ttl_seconds)
    turn = session.scalar(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.user_id == user_id,
            Conversation.status == "active",
            Conversation.last_active_at >= now - ttl,
        )
        .values(jobs_submitted=Conversation.jobs_submitted + 1, last_active_at=now)
        .returning(Conversation.jobs_submitted)
    )
    if turn is not None:
        return int(turn)
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.user_id != user_id:
        raise not_found("conversation", "conversation_id")
    if conversation.status == "closed":
        raise Conflict("conversation_closed", "The conversation is closed.", "conversation_id")
    raise Conflict(
        "conversation_expired",
        "The conversation expired after its idle time-to-live; start a new one.",
        "conversation_id",
    )
