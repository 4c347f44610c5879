"""What every submit answers: 202 with the job, Location, Retry-After; 200 after Prefer: wait."""

from __future__ import annotations

import re

from flask import Response, jsonify, request
from werkzeug.datastructures import Headers

from api.http import caller
from shared.core.errors import InvalidInput
from shared.core.models import Job
from shared.core.settings import get_settings
from shared.jobs import states
from shared.jobs.queries import get_job
from shared.views import job_body
from shared.webhooks.targets import check_webhook_url

PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+(?:\.\d+)?)")
MAX_PREFER_WAIT = 30.0


def idempotency_key(headers: Headers) -> str | None:
    key = headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255:
        raise InvalidInput(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1-255 characters.",
            "Idempotency-Key",
        )
    return key


def webhook_target(requested: str | None) -> tuple[str | None, int | None]:
    """The submit's webhook (its own webhook_url, else its token's default) and the token that
    signs it; a URL a delivery would refuse is 422 now."""
    token = caller()
    url = requested if requested is not None else token.webhook_url
    if url is None:
        return None, None
    what = "webhook_url" if requested is not None else "The token's default webhook_url"
    check_webhook_url(url, get_settings(), what)
    return url, token.token_id


def accepted(user_id: str, job: Job, created: bool) -> Response:
    body = job_body(job)
    wait = _preferred_wait()
    if wait > 0 and body["status"] not in states.TERMINAL:
        body = get_job(user_id, job.id, wait)
    status = 200 if body["status"] in states.TERMINAL and wait > 0 else 202
    response = jsonify(body)
    response.status_code = status
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    if status == 202:
        response.headers["Retry-After"] = "1"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _preferred_wait() -> float:
    match = PREFER_WAIT.search(request.headers.get("Prefer", ""))
    return min(float(match.group(1)), MAX_PREFER_WAIT) if match else 0.0
