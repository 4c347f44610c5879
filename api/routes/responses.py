"""POST /v1/responses (a general Responses request, queued) and stored responses by id."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, request

from api.http import acting_user, json_body, query, submitting_user
from api.openapi import SubmitHeaders, documented
from api.schemas import ResponsesRequest, UserQuery
from api.submit import accepted, idempotency_key, webhook_target
from shared.conversations.service import get_response
from shared.jobs.create_parameters import check_create_parameters
from shared.jobs.request_rules import check_files, check_text_format, check_tools
from shared.jobs.submission import JobSubmission, submit_job
from shared.views import JobBody, StoredResponseBody

bp = Blueprint("responses", __name__)


@bp.post("/v1/responses")
@documented(
    {
        "HTTP_202": (JobBody, "the job, queued"),
        "HTTP_200": (JobBody, "the finished job, when Prefer: wait=N saw it end"),
    },
    json=ResponsesRequest,
    headers=SubmitHeaders,
)
def post_response() -> Response:
    """A general Responses request; answers at once with a job."""
    body = json_body(ResponsesRequest)
    user_id = submitting_user(body.user_id)
    job_request = body.model_dump(
        exclude={"conversation_id", "user_id", "on_busy", "webhook_url"},
        exclude_none=True,
        by_alias=True,
        mode="json",
    )
    check_tools(job_request.get("tools"))
    check_create_parameters(user_id, job_request)
    check_text_format(job_request.get("text"))
    check_files(user_id, job_request["input"])
    webhook_url, webhook_token_id = webhook_target(body.webhook_url)
    job, created = submit_job(
        JobSubmission(
            user_id=user_id,
            kind="response",
            request=job_request,
            conversation_id=body.conversation_id,
            on_busy=body.on_busy,
            idempotency_key=idempotency_key(request.headers),
            request_id=g.request_id,
            webhook_url=webhook_url,
            webhook_token_id=webhook_token_id,
        )
    )
    return accepted(user_id, job, created)


@bp.get("/v1/responses/<response_id>")
@documented({"HTTP_200": StoredResponseBody}, query=UserQuery)
def read_response(response_id: str) -> dict[str, Any]:
    """One stored response."""
    return get_response(acting_user(query(UserQuery).user_id), response_id)
