"""The one way a job changes status once it has been taken up: worker, caller and sweep alike.

A move writes the new status under the guard of `states.TRANSITIONS` (a job already finished is
never moved again), and when the job is finished adds its tokens to its user's usage and frees
the next job of the conversation; a job with a webhook gets its delivery recorded; all in one
transaction. Once that has committed it publishes the job's status event, counts the tokens in
the metrics, sends the deliveries' tasks and asks for a dispatch pass, since a job that ends or
waits for tool outputs no longer holds its user's slot.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, ColumnElement, Update, bindparam, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared.accounts.usage import Tokens, record_finished_jobs
from shared.core.clock import utcnow
from shared.core.db import one_of, write_session
from shared.core.models import Job
from shared.core.settings import get_settings
from shared.jobs import events, states
from shared.jobs.dispatch import dispatch_soon
from shared.webhooks import outbox


@dataclass(frozen=True)
class Change:
    """Where a job goes, and what goes with it."""

    status: str
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    required_action: dict[str, Any] | None = None
    # The attempt's last upstream response: the job points at it from now on.
    response_id: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in states.TERMINAL

    def event(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error}


class JobMoves:
    """The jobs moved in one transaction; their events go out once it has committed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._moved: list[tuple[str, Change]] = []
        self._spent: list[tuple[str, Tokens]] = []
        self._deliveries: list[str] = []

    def move(self, where: Sequence[ColumnElement[bool]], change: Change) -> list[str]:
        """Move every job matching `where` that may go to `change.status`; answer their ids."""
        return self._moved_by(_moving_any(*_shape(change)).where(*where), change, {})

    def move_held(self, job_id: str, attempt: int, change: Change) -> bool:
        """Move the job a worker's `attempt` holds (in progress); False if it holds it no more.
        The worker's end of every job: its statement is built once."""
        fence = {"held_job_id": job_id, "held_attempt": attempt}
        return bool(self._moved_by(_moving_held(*_shape(change)), change, fence))

    def _moved_by(self, statement: Update, change: Change, fence: dict[str, Any]) -> list[str]:
        """Run a move's `statement`, its WHERE's parameters in `fence`; answer the ids moved."""
        now = utcnow()
        params = {
            **fence,
            "new_result": change.result,
            "new_error": change.error,
            "new_required_action": change.required_action,
            "new_finished_at": now if change.finished else None,
            "new_response_id": change.response_id,
        }
        rows = self.session.connection().execute(statement, params).all()
        if change.finished:
            for conversation_id in {row.conversation_id for row in rows} - {None}:
                release_next_in_conversation(self.session, conversation_id)
            for job, tokens in record_finished_jobs(self.session, rows, change.result, now.date()):
                model = job.request.get("model") or get_settings().OPENAI_MODEL
                self._spent.append((model, tokens))
        self._deliveries += outbox.record_job_events(
            self.session, [row.id for row in rows if row.webhook_url is not None], now
        )
        self._moved += [(row.id, change) for row in rows]
        return [row.id for row in rows]

    def announce(self) -> None:
        for job_id, change in self._moved:
            events.publish(job_id, "status", change.event())
        if self._spent:
            # Not imported with this module: the api package imports it in gunicorn's master,
            # before the workers' metrics directory is set (see api/metrics.py).
            from shared.core import metrics

            for model, tokens in self._spent:
                metrics.count_tokens(model, tokens.input, tokens.output)
        outbox.send_deliveries(self._deliveries)
        if self._moved:
            dispatch_soon()


@contextmanager
def moving_jobs() -> Iterator[JobMoves]:
    """A write transaction that moves jobs; their events are published after it commits."""
    with write_session() as session:
        moves = JobMoves(session)
        yield moves
    moves.announce()


def _shape(change: Change) -> tuple[str, bool]:
    return change.status, change.response_id is not None


# None is SQL NULL, as it is given literally to `values()`, not JSON's null.
_JSON_OR_NULL = JSON(none_as_null=True)


@lru_cache(maxsize=32)
def _moving_any(status: str, points_at_response: bool) -> Update:
    """A move to `status` of the jobs that may go there (add the WHERE of which), its values
    bound by name: built once for each shape, since building it costs more CPU than running it."""
    finished = status in states.TERMINAL
    values: dict[str, Any] = {
        "status": status,
        "result": bindparam("new_result", type_=_JSON_OR_NULL),
        "error": bindparam("new_error", type_=_JSON_OR_NULL),
        "required_action": bindparam("new_required_action", type_=_JSON_OR_NULL),
        "queue_state": None,
        "lease_expires_at": None,
        "finished_at": bindparam("new_finished_at", type_=Job.finished_at.type),
    }
    if finished or points_at_response:
        values["pending_tool_outputs"] = None
    if points_at_response:
        values["upstream_response_id"] = bindparam("new_response_id")
    returned: list[InstrumentedAttribute[Any]] = [
        Job.id,
        Job.conversation_id,
        Job.user_id,
        Job.webhook_url,
    ]
    if finished:
        # Its tokens are counted by the model it asked for, read here rather than with
        # `request->>'model'`: PostgreSQL reads no field of a JSON value holding \u0000.
        returned.append(Job.request)
    return (
        update(Job)
        .where(one_of(Job.status, states.sources_of(status)))
        .values(values)
        .returning(*returned)
    )


@lru_cache(maxsize=32)
def _moving_held(status: str, points_at_response: bool) -> Update:
    return _moving_any(status, points_at_response).where(
        Job.id == bindparam("held_job_id"),
        Job.attempts == bindparam("held_attempt"),
        Job.status == states.IN_PROGRESS,
    )


# The conversation's first unfinished job, made ready if it was blocked: one statement, built
# once (a job's end is on every job's path).
_RELEASE_NEXT = (
    update(Job)
    .where(
        Job.id
        == select(Job.id)
        .where(
            Job.conversation_id == bindparam("conversation"),
            one_of(Job.status, states.ACTIVE),
        )
        .order_by(Job.conversation_seq)
        .limit(1)
        .scalar_subquery(),
        Job.queue_state == states.BLOCKED,
    )
    .values(queue_state=states.READY)
)


def release_next_in_conversation(session: Session, conversation_id: str) -> None:
    """Make the conversation's next job ready once no earlier one is unfinished."""
    session.connection().execute(_RELEASE_NEXT, {"conversation": conversation_id})
