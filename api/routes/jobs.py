"""Jobs: read one (optionally waiting for it), list them, cancel, tool outputs, events."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, stream_with_context

from api.http import acting_user, json_body, query
from api.openapi import JobEvent, ResumeHeaders, documented
from api.schemas import JobListQuery, JobQuery, ToolOutputsRequest, UserQuery, UserScoped
from shared.jobs.control import cancel_job, submit_tool_outputs
from shared.jobs.queries import get_job, list_jobs
from shared.jobs.stream import job_events
from shared.views import JobBody, JobList

bp = Blueprint("jobs", __name__)


@bp.get("/v1/jobs/<job_id>")
@documented({"HTTP_200": JobBody}, query=JobQuery)
def read_job(job_id: str) -> dict[str, Any]:
    """One job; ?wait=N holds the request until it ends or N seconds pass."""
    params = query(JobQuery)
    return get_job(acting_user(params.user_id), job_id, params.wait)


@bp.get("/v1/jobs")
@documented({"HTTP_200": JobList}, query=JobListQuery)
def read_jobs() -> dict[str, Any]:
    """The caller's jobs, newest first."""
    params = query(JobListQuery)
    return list_jobs(
        acting_user(params.user_id),
        params.status,
        params.conversation_id,
        params.limit,
        params.after,
    )


@bp.post("/v1/jobs/<job_id>/cancel")
@documented({"HTTP_200": JobBody}, query=UserQuery, json=UserScoped)
def cancel(job_id: str) -> dict[str, Any]:
    """Cancel a queued, waiting or running job."""
    body = json_body(UserScoped, optional=True)
    return cancel_job(acting_user(body.user_id or query(UserQuery).user_id), job_id)


@bp.post("/v1/jobs/<job_id>/tool_outputs")
@documented({"HTTP_200": JobBody}, json=ToolOutputsRequest)
def tool_outputs(job_id: str) -> dict[str, Any]:
    """Outputs of the caller's function calls; resumes a job in requires_action."""
    body = json_body(ToolOutputsRequest)
    outputs = [output.model_dump() for output in body.tool_outputs]
    return submit_tool_outputs(acting_user(body.user_id), job_id, outputs)


@bp.get("/v1/jobs/<job_id>/events")
@documented(
    {"HTTP_200": (JobEvent, "text/event-stream; ends after the terminal status event")},
    query=UserQuery,
    headers=ResumeHeaders,
)
def stream_events(job_id: str) -> Response:
    """Server-Sent Events: status changes, text deltas, tool calls."""
    user_id = acting_user(query(UserQuery).user_id)
    stream = job_events(user_id, job_id, request.headers.get("Last-Event-ID"))
    return Response(
        stream_with_context(stream),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
