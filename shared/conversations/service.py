"""Conversations: list, read, change metadata, close, delete, and their stored responses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.core import task_names
from shared.core.celery_app import celery_app
from shared.core.clock import utcnow
from shared.core.db import read_session, write_session
from shared.core.errors import Conflict, InvalidInput, not_found
from shared.core.models import Conversation, Job, Response
from shared.core.pagination import list_body, page
from shared.core.settings import get_settings
from shared.jobs import states
from shared.views import conversation_body, deleted_body, response_body


def _ttl() -> float:
    return get_settings().conversation_ttl_seconds


def owned_conversation(session: Session, user_id: str, conversation_id: str) -> Conversation:
    """The user's conversation; 404 when there is none or it is another user's."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.user_id != user_id:
        raise not_found("conversation")
    return conversation


def list_conversations(
    user_id: str, status: str | None, limit: int, after: str | None
) -> dict[str, Any]:
    query = select(Conversation).where(Conversation.user_id == user_id)
    if status:
        query = query.where(Conversation.status == status)
    with read_session() as session:
        items, has_more = page(
            session, query, Conversation.id, limit, after, newest_first=True, id_prefix="conv"
        )
    return list_body([conversation_body(c, _ttl()) for c in items], has_more)


def get_conversation(user_id: str, conversation_id: str) -> dict[str, Any]:
    with read_session() as session:
        conversation = owned_conversation(session, user_id, conversation_id)
    return conversation_body(conversation, _ttl())


def update_metadata(user_id: str, conversation_id: str, metadata: dict[str, str]) -> dict[str, Any]:
    with write_session() as session:
        conversation = owned_conversation(session, user_id, conversation_id)
        conversation.meta = metadata
        upstream_id = conversation.upstream_id
    if upstream_id:
        celery_app.send_task(task_names.UPDATE_UPSTREAM_CONVERSATION, args=[upstream_id, metadata])
    return conversation_body(conversation, _ttl())


def close_conversation(user_id: str, conversation_id: str) -> dict[str, Any]:
    with write_session() as session:
        conversation = owned_conversation(session, user_id, conversation_id)
        if conversation.status == "expired":
            raise Conflict("conversation_expired", "The conversation has already expired.")
        if conversation.status == "active":
            conversation.status = "closed"
            conversation.closed_at = utcnow()
    return conversation_body(conversation, _ttl())


def delete_conversation(user_id: str, conversation_id: str) -> dict[str, Any]:
    with write_session() as session:
        conversation = owned_conversation(session, user_id, conversation_id)
        active = session.scalar(
            select(Job.id).where(
                Job.conversation_id == conversation_id, Job.status.in_(states.ACTIVE)
            )
        )
        if active:
            raise Conflict(
                "conversation_busy", "The conversation has a job in progress; cancel it first."
            )
        upstream_id = conversation.upstream_id
        session.delete(conversation)
    if upstream_id:
        celery_app.send_task(task_names.DELETE_UPSTREAM_CONVERSATION, args=[upstream_id])
    return deleted_body(conversation_id, "conversation")


def list_responses(
    user_id: str, conversation_id: str, limit: int, after: str | None
) -> dict[str, Any]:
    with read_session() as session:
        owned_conversation(session, user_id, conversation_id)
        query = select(Response).where(Response.conversation_id == conversation_id)
        if after:
            anchor = session.get(Response, after)
            if anchor is None or anchor.conversation_id != conversation_id:
                raise InvalidInput("invalid_cursor", "after names no response here.", "after")
            query = query.where(Response.created_at > anchor.created_at)
        rows = list(session.scalars(query.order_by(Response.created_at).limit(limit + 1)))
    return list_body([response_body(r) for r in rows[:limit]], len(rows) > limit)


def get_response(user_id: str, response_id: str) -> dict[str, Any]:
    with read_session() as session:
        response = session.get(Response, response_id)
        if response is None or response.user_id != user_id:
            raise not_found("response")
    return response_body(response)
