"""The original multi-user chat app's view of conversations and their responses: its field
names (`conversation_id`, `response_id`, `reply`), its lists as bare arrays, its times as ISO 8601,
and its lazy expiry (a conversation idle past the TTL shows `expired` before the sweep marks it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel
from sqlalchemy import and_, or_, select

from shared.conversations.service import owned_conversation
from shared.conversations.transcript import user_text
from shared.core.clock import unix, utcnow
from shared.core.db import read_session
from shared.core.models import Conversation, Job, Response
from shared.core.settings import get_settings
from shared.views import conversation_body


class CompatReply(BaseModel):
    conversation_id: str
    response_id: str
    reply: str


class CompatConversation(BaseModel):
    conversation_id: str
    user_id: str
    status: Literal["active", "closed", "expired"]
    metadata: dict[str, str]
    created_at: AwareDatetime
    last_active_at: AwareDatetime
    closed_at: AwareDatetime | None
    expired_at: AwareDatetime | None


class CompatResponse(BaseModel):
    response_id: str
    conversation_id: str
    user_id: str
    message: str | None
    reply: str
    model: str
    created_at: AwareDatetime


def list_conversations(user_id: str, status: str | None, limit: int) -> list[dict[str, Any]]:
    """The user's conversations, newest first, `status` as the record shows it."""
    ttl = get_settings().conversation_ttl_seconds
    idle = Conversation.last_active_at < utcnow() - timedelta(seconds=ttl)
    query = select(Conversation).where(Conversation.user_id == user_id)
    if status == "active":
        query = query.where(Conversation.status == "active", ~idle)
    elif status == "expired":
        query = query.where(
            or_(Conversation.status == "expired", and_(Conversation.status == "active", idle))
        )
    elif status:
        query = query.where(Conversation.status == status)
    with read_session() as session:
        rows = session.scalars(query.order_by(Conversation.id.desc()).limit(limit)).all()
    return [conversation_record(conversation_body(row, ttl)) for row in rows]


def conversation_record(body: dict[str, Any]) -> dict[str, Any]:
    """A conversation as the original app shows it, from its /v1 body."""
    status = body["status"]
    if status == "active" and body["expires_at"] <= utcnow().timestamp():
        status = "expired"
    return CompatConversation(
        conversation_id=body["id"],
        user_id=body["user_id"],
        status=status,
        metadata=body["metadata"],
        created_at=_moment(body["created_at"]),
        last_active_at=_moment(body["last_active_at"]),
        closed_at=_moment(body["closed_at"]),
        expired_at=_moment(body["expired_at"]),
    ).model_dump(mode="json")


def list_responses(user_id: str, conversation_id: str) -> list[dict[str, Any]]:
    """Every response of the conversation, oldest first, beside the message it answered."""
    with read_session() as session:
        owned_conversation(session, user_id, conversation_id)
        rows = session.execute(
            select(Response, Job.kind, Job.request)
            .outerjoin(Job, Job.id == Response.job_id)
            .where(Response.conversation_id == conversation_id)
            .order_by(Response.created_at)
        ).all()
    return [
        CompatResponse(
            response_id=response.id,
            conversation_id=conversation_id,
            user_id=user_id,
            message=user_text(kind, request) if request is not None else None,
            reply=response.output_text,
            model=response.model,
            created_at=_moment(unix(response.created_at)),
        ).model_dump(mode="json")
        for response, kind, request in rows
    ]


def chat_reply(job: dict[str, Any]) -> dict[str, Any]:
    """What the original app's POST /chat answers, from a completed chat job."""
    result = job["result"]
    return CompatReply(
        conversation_id=job["conversation_id"],
        response_id=result["response_id"],
        reply=result["output_text"],
    ).model_dump()


def _moment(unix_seconds: int | None) -> datetime | None:
    return None if unix_seconds is None else datetime.fromtimestamp(unix_seconds, UTC)
