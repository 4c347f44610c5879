"""The original multi-user app's routes in the OpenAPI document: its bodies and field names."""

from __future__ import annotations

from typing import Any

from api import schemas
from api.openapi_doc import NULLABLE_STR, REF, SUBMIT_HEADERS, _answer, _operation

SCHEMAS: dict[str, dict[str, Any]] = {
    "CompatReply": {
        "type": "object",
        "required": ["conversation_id", "response_id", "reply"],
        "properties": {
            "conversation_id": {"type": "string"},
            "response_id": {"type": "string"},
            "reply": {"type": "string"},
        },
    },
    "CompatConversation": {
        "type": "object",
        "required": ["conversation_id", "user_id", "status", "created_at", "last_active_at"],
        "properties": {
            "conversation_id": {"type": "string"},
            "user_id": {"type": "string"},
            "status": {"enum": ["active", "closed", "expired"]},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "created_at": {"type": "string", "format": "date-time"},
            "last_active_at": {"type": "string", "format": "date-time"},
            "closed_at": {"type": ["string", "null"], "format": "date-time"},
            "expired_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "CompatResponse": {
        "type": "object",
        "required": ["response_id", "conversation_id", "user_id", "reply", "created_at"],
        "properties": {
            "response_id": {"type": "string"},
            "conversation_id": {"type": "string"},
            "user_id": {"type": "string"},
            "message": NULLABLE_STR,
            "reply": {"type": "string"},
            "model": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
}
for _name in ("CompatConversation", "CompatResponse"):
    SCHEMAS[f"{_name}Array"] = {"type": "array", "items": {"$ref": REF.format(model=_name)}}


def with_compat_routes(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the original app's routes and their bodies added."""
    components = document["components"]["schemas"]
    components.update(SCHEMAS)
    request = schemas.CompatChatRequest.model_json_schema(ref_template=REF)
    components.update(request.pop("$defs", {}))
    components[schemas.CompatChatRequest.__name__] = request
    document["paths"].update(_paths())
    return document


def _paths() -> dict[str, Any]:
    chat = _operation(
        "The original app's chat: the reply once the job ends within COMPAT_WAIT_SECONDS",
        ("200", "the reply", "CompatReply"),
        body=schemas.CompatChatRequest,
        headers=SUBMIT_HEADERS[:1],
    )
    chat["responses"]["202"] = _answer("the job, still running: poll /v1/jobs/{id}", "Job")
    chat["responses"]["502"] = _answer("the job failed, with its error", "Error")
    return {
        "/chat": {"post": chat},
        "/conversations": {
            "get": _operation(
                "The original app's conversation list, newest first",
                ("200", "the conversations", "CompatConversationArray"),
                params=schemas.CompatConversationQuery,
            )
        },
        "/conversations/{conversation_id}/close": {
            "post": _operation(
                "The original app's close",
                ("200", "the conversation", "CompatConversation"),
                body=schemas.UserScoped,
                body_required=False,
                params=schemas.UserQuery,
                path="conversation_id",
            )
        },
        "/responses/{conversation_id}": {
            "get": _operation(
                "The original app's stored responses of a conversation, oldest first",
                ("200", "the responses", "CompatResponseArray"),
                params=schemas.UserQuery,
                path="conversation_id",
            )
        },
    }
