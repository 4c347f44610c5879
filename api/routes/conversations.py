"""Conversations: list, read, change metadata, close, delete, and their history."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.http import acting_user, json_body, query
from api.openapi import documented
from api.schemas import ConversationListQuery, ConversationPatch, ListQuery, UserQuery, UserScoped
from shared.conversations import service as conversations
from shared.conversations.transcript import TranscriptList, list_messages
from shared.views import ConversationBody, ConversationList, DeletedBody, StoredResponseList

bp = Blueprint("conversations", __name__)


@bp.get("/v1/conversations")
@documented({"HTTP_200": ConversationList}, query=ConversationListQuery)
def list_conversations() -> dict[str, Any]:
    """The caller's conversations, newest first."""
    params = query(ConversationListQuery)
    return conversations.list_conversations(
        acting_user(params.user_id), params.status, params.limit, params.after
    )


@bp.get("/v1/conversations/<conversation_id>")
@documented({"HTTP_200": ConversationBody}, query=UserQuery)
def get_conversation(conversation_id: str) -> dict[str, Any]:
    """One conversation."""
    user_id = acting_user(query(UserQuery).user_id)
    return conversations.get_conversation(user_id, conversation_id)


@bp.patch("/v1/conversations/<conversation_id>")
@documented({"HTTP_200": ConversationBody}, json=ConversationPatch)
def patch_conversation(conversation_id: str) -> dict[str, Any]:
    """Replace its metadata."""
    body = json_body(ConversationPatch)
    return conversations.update_metadata(acting_user(body.user_id), conversation_id, body.metadata)


@bp.post("/v1/conversations/<conversation_id>/close")
@documented({"HTTP_200": ConversationBody}, query=UserQuery, json=UserScoped)
def close_conversation(conversation_id: str) -> dict[str, Any]:
    """Close it; later messages answer 409."""
    body = json_body(UserScoped, optional=True)
    user_id = acting_user(body.user_id or query(UserQuery).user_id)
    return conversations.close_conversation(user_id, conversation_id)


@bp.delete("/v1/conversations/<conversation_id>")
@documented({"HTTP_200": DeletedBody}, query=UserQuery)
def delete_conversation(conversation_id: str) -> dict[str, Any]:
    """Delete it here and upstream."""
    user_id = acting_user(query(UserQuery).user_id)
    return conversations.delete_conversation(user_id, conversation_id)


@bp.get("/v1/conversations/<conversation_id>/responses")
@documented({"HTTP_200": StoredResponseList}, query=ListQuery)
def conversation_responses(conversation_id: str) -> dict[str, Any]:
    """Its responses, oldest first."""
    params = query(ListQuery)
    return conversations.list_responses(
        acting_user(params.user_id), conversation_id, params.limit, params.after
    )


@bp.get("/v1/conversations/<conversation_id>/messages")
@documented({"HTTP_200": TranscriptList}, query=ListQuery)
def conversation_messages(conversation_id: str) -> dict[str, Any]:
    """Its transcript: user turns, tool calls and outputs, replies, oldest first."""
    params = query(ListQuery)
    return list_messages(acting_user(params.user_id), conversation_id, params.limit, params.after)
