"""POST /v1/chat: one message into a conversation, answered at once with a job."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from api.http import json_body, submitting_user
from api.openapi import SubmitHeaders, documented
from api.schemas import ChatRequest
from api.submit import accepted, idempotency_key, webhook_target
from shared.jobs.create_parameters import CREATE_PARAMETERS, check_create_parameters
from shared.jobs.request_rules import check_tools
from shared.jobs.submission import JobSubmission, submit_job
from shared.views import JobBody

bp = Blueprint("chat", __name__)


@bp.post("/v1/chat")
@documented(
    {
        "HTTP_202": (JobBody, "the job, queued"),
        "HTTP_200": (JobBody, "the finished job, when Prefer: wait=N saw it end"),
    },
    json=ChatRequest,
    headers=SubmitHeaders,
)
def post_chat() -> Response:
    """Send a message; answers at once with a job."""
    body = json_body(ChatRequest)
    user_id = submitting_user(body.user_id)
    job_request = body.model_dump(
        include={"message", "model", "instructions", "tools", "metadata", *CREATE_PARAMETERS},
        exclude_none=True,
        mode="json",
    )
    check_tools(job_request.get("tools"))
    check_create_parameters(user_id, job_request)
    webhook_url, webhook_token_id = webhook_target(body.webhook_url)
    job, created = submit_job(
        JobSubmission(
            user_id=user_id,
            kind="chat",
            request=job_request,
            conversation_id=body.conversation_id,
            new_conversation=body.conversation_id is None,
            conversation_metadata=body.metadata,
            on_busy=body.on_busy,
            idempotency_key=idempotency_key(request.headers),
            request_id=g.request_id,
            webhook_url=webhook_url,
            webhook_token_id=webhook_token_id,
        )
    )
    return accepted(user_id, job, created)
