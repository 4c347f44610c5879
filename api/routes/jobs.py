"""Jobs: read one (optionally waiting for it), list them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.http import acting_user, query
from api.schemas import JobListQuery, JobQuery
from shared.job_queries import get_job, list_jobs

bp = Blueprint("jobs", __name__)


@bp.get("/v1/jobs/<job_id>")
def read_job(job_id: str) -> dict[str, Any]:
    params = query(JobQuery)
    return get_job(acting_user(params.user_id), job_id, params.wait)


@bp.get("/v1/jobs")
def read_jobs() -> dict[str, Any]:
    params = query(JobListQuery)
    return list_jobs(
        acting_user(params.user_id),
        params.status,
        params.conversation_id,
        params.limit,
        params.after,
    )
