"""What the gateway holds to rebuild a conversation the upstream no longer knows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update

from shared.conversations.local_history import local_history
from shared.core.db import affected, read_session, write_session
from shared.core.models import Conversation, Response
from shared.core.settings import get_settings


class NothingToRebuild(Exception):
    """The conversation had answered turns, but none of them is in our record any more."""


def recorded_turns(conversation_id: str, before_seq: int, job_id: str) -> list[dict[str, Any]]:
    """The conversation's turns before `before_seq` as input items (at most
    UPSTREAM_HISTORY_MAX_ITEMS, as `local` mode sends them). Raises NothingToRebuild when earlier
    jobs were answered but their turns are gone (purged past RETENTION_DAYS)."""
    items = local_history(conversation_id, before_seq, get_settings().UPSTREAM_HISTORY_MAX_ITEMS)
    if not items and _answered_before(conversation_id, job_id):
        raise NothingToRebuild(conversation_id)
    return items


def _answered_before(conversation_id: str, job_id: str) -> bool:
    with read_session() as session:
        return (
            session.scalar(
                select(Response.id)
                .where(
                    Response.conversation_id == conversation_id,
                    # A purged job's responses stay, their job_id set to null.
                    or_(Response.job_id.is_(None), Response.job_id != job_id),
                )
                .limit(1)
            )
            is not None
        )


def replace_upstream_id(conversation_id: str, lost_id: str, new_id: str) -> str:
    """Point the conversation at the upstream conversation rebuilt in place of `lost_id`; if
    another attempt already replaced it, keep that one. Answers the upstream id now held."""
    with write_session() as session:
        if affected(
            session,
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.upstream_id == lost_id)
            .values(upstream_id=new_id),
            {},
        ):
            return new_id
        kept = session.scalar(
            select(Conversation.upstream_id).where(Conversation.id == conversation_id)
        )
    return kept or new_id
