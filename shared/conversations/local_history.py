"""A conversation's history from our own database, as Responses input items (`local` mode)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shared.core.db import read_session
from shared.core.models import Job, Response
from shared.jobs import states

ANSWERED = (states.COMPLETED, states.INCOMPLETE)


def local_history(conversation_id: str, before_seq: int, max_items: int) -> list[dict[str, Any]]:
    """The user turns and replies of the conversation's answered jobs before `before_seq`, newest
    `max_items` of them, oldest first. A reply cut short (incomplete) stays in the conversation,
    as it does in an upstream one."""
    with read_session() as session:
        jobs = session.scalars(
            select(Job)
            .where(
                Job.conversation_id == conversation_id,
                Job.conversation_seq < before_seq,
                Job.status.in_(ANSWERED),
            )
            .order_by(Job.conversation_seq.desc())
            .limit(max_items)
        ).all()
        replies: dict[str, list[str]] = {}
        for job_id, text in session.execute(
            select(Response.job_id, Response.output_text)
            .where(Response.job_id.in_([job.id for job in jobs]))
            .order_by(Response.created_at)
        ):
            replies.setdefault(str(job_id), []).append(text)
    items: list[dict[str, Any]] = []
    for job in reversed(jobs):
        items += user_items(job.kind, job.request)
        for text in replies.get(job.id, []):
            if text:
                items.append({"role": "assistant", "content": text})
    return items[-max_items:]


def user_items(kind: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    """What the user said in a job, as input items."""
    if kind == "chat":
        return [{"role": "user", "content": request["message"]}]
    given = request["input"]
    if isinstance(given, str):
        return [{"role": "user", "content": given}]
    return [item for item in given if item.get("role") == "user"]
