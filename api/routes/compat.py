"""The original multi-user chat app's API, as a drop-in: its routes, bodies and field names, through
the queue, with the same tokens and ownership rules as /v1."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from api.http import acting_user, json_body, query, submitting_user
from api.openapi import SubmitHeaders, documented
from api.schemas import CompatChatRequest, CompatConversationQuery, UserQuery, UserScoped
from api.submit import idempotency_key
from shared.conversations import compat
from shared.conversations.compat import CompatConversation, CompatReply, CompatResponse
from shared.conversations.service import close_conversation
from shared.core.error_body import ErrorBody
from shared.core.errors import JobFailed
from shared.core.settings import get_settings
from shared.jobs import states
from shared.jobs.queries import get_job
from shared.jobs.submission import JobSubmission, submit_job
from shared.views import JobBody

bp = Blueprint("compat", __name__)


@bp.post("/chat")
@documented(
    {
        "HTTP_200": (CompatReply, "the reply"),
        "HTTP_202": (JobBody, "the job, still running: poll /v1/jobs/{id}"),
        "HTTP_502": (ErrorBody, "the job failed, with its error"),
    },
    json=CompatChatRequest,
    headers=SubmitHeaders,
)
def chat() -> Response | dict[str, Any]:
    """The reply once the job ends within COMPAT_WAIT_SECONDS; else 202 with the job to poll."""
    body = json_body(CompatChatRequest)
    user_id = submitting_user(body.user_id)
    job, _created = submit_job(
        JobSubmission(
            user_id=user_id,
            kind="chat",
            request={"message": body.message},
            conversation_id=body.conversation_id,
            new_conversation=body.conversation_id is None,
            idempotency_key=idempotency_key(request.headers),
            request_id=g.request_id,
        )
    )
    settled = get_job(user_id, job.id, get_settings().COMPAT_WAIT_SECONDS)
    if settled["status"] == states.COMPLETED:
        return compat.chat_reply(settled)
    if settled["status"] in states.TERMINAL:
        error = settled["error"] or {"code": settled["status"], "message": "The job did not end."}
        raise JobFailed(error["code"], error["message"])
    answer = jsonify(settled)
    answer.status_code = 202
    answer.headers["Location"] = f"/v1/jobs/{job.id}"
    answer.headers["Retry-After"] = "1"
    return answer


@bp.get("/conversations")
@documented({"HTTP_200": list[CompatConversation]}, query=CompatConversationQuery)
def list_conversations() -> Response:
    """The original app's conversation list, newest first."""
    params = query(CompatConversationQuery)
    return jsonify(
        compat.list_conversations(acting_user(params.user_id), params.status, params.limit)
    )


@bp.post("/conversations/<conversation_id>/close")
@documented({"HTTP_200": CompatConversation}, query=UserQuery, json=UserScoped)
def close(conversation_id: str) -> dict[str, Any]:
    """The original app's close."""
    body = json_body(UserScoped, optional=True)
    user_id = acting_user(body.user_id or query(UserQuery).user_id)
    return compat.conversation_record(close_conversation(user_id, conversation_id))


@bp.get("/responses/<conversation_id>")
@documented({"HTTP_200": list[CompatResponse]}, query=UserQuery)
def list_responses(conversation_id: str) -> Response:
    """The original app's stored responses of a conversation, oldest first."""
    user_id = acting_user(query(UserQuery).user_id)
    return jsonify(compat.list_responses(user_id, conversation_id))
