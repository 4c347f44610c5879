"""The one way a job changes status once it has been taken up: worker, caller and sweep alike.

A move writes the new status under the guard of `states.TRANSITIONS` (a job already finished is
never moved again), frees the next job of the conversation when this one is finished, and once
the transaction has committed publishes the job's status event and asks for a dispatch pass,
since a job that ends or waits for tool outputs no longer holds its user's slot.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.orm import Session

from shared.core.clock import utcnow
from shared.core.db import write_session
from shared.core.models import Job
from shared.jobs import events, states
from shared.jobs.dispatch import dispatch_soon


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

    def move(self, where: Sequence[ColumnElement[bool]], change: Change) -> list[str]:
        """Move every job matching `where` that may go to `change.status`; answer their ids."""
        values: dict[str, Any] = {
            "status": change.status,
            "result": change.result,
            "error": change.error,
            "required_action": change.required_action,
            "queue_state": None,
            "lease_expires_at": None,
            "finished_at": utcnow() if change.finished else None,
        }
        if change.finished or change.response_id is not None:
            values["pending_tool_outputs"] = None
        if change.response_id is not None:
            values["upstream_response_id"] = change.response_id
        rows = (
            self.session.connection()
            .execute(
                update(Job)
                .where(Job.status.in_(states.sources_of(change.status)), *where)
                .values(values)
                .returning(Job.id, Job.conversation_id)
            )
            .all()
        )
        if change.finished:
            for conversation_id in {row.conversation_id for row in rows} - {None}:
                release_next_in_conversation(self.session, conversation_id)
        self._moved += [(row.id, change) for row in rows]
        return [row.id for row in rows]

    def announce(self) -> None:
        for job_id, change in self._moved:
            events.publish(job_id, "status", change.event())
        if self._moved:
            dispatch_soon()


@contextmanager
def moving_jobs() -> Iterator[JobMoves]:
    """A write transaction that moves jobs; their events are published after it commits."""
    with write_session() as session:
        moves = JobMoves(session)
        yield moves
    moves.announce()


# The conversation's first unfinished job, made ready if it was blocked: one statement, built
# once (a job's end is on every job's path).
_RELEASE_NEXT = (
    update(Job)
    .where(
        Job.id
        == select(Job.id)
        .where(
            Job.conversation_id == bindparam("conversation"),
            Job.status.in_(sorted(states.ACTIVE)),
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
