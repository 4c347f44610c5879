"""GET /metrics, and the request metrics every answer adds to (labelled by route template).

Under gunicorn every worker process writes its metrics to API_METRICS_DIR and /metrics sums them
all; without gunicorn (the Flask test client, `flask run`) this process's own are served.
prometheus-client picks where it keeps values when first imported, so this module is imported
by create_app only: gunicorn's master imports the `api` package to read its config, before
api/gunicorn_config.py sets PROMETHEUS_MULTIPROC_DIR for the worker processes it forks.
/metrics answers only METRICS_TOKEN as a bearer token, or without one only loopback callers.
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from api.openapi import documented
from shared.core import metrics
from shared.core.error_body import ErrorBody
from shared.core.metrics_access import metrics_refusal
from shared.core.settings import get_settings

bp = Blueprint("metrics", __name__)

# A submit that creates a job answers 202 (or 200 after `Prefer: wait`) on these routes.
SUBMIT_KINDS = {"/v1/chat": "chat", "/v1/responses": "response"}
REFUSALS = frozenset({429, 503})


def register_metrics(app: Flask) -> None:
    """Register before the other hooks: a request refused by one of them is timed too."""
    app.before_request(_start_clock)
    app.after_request(_observe)
    app.register_blueprint(bp)


@bp.get("/metrics")
@documented(
    {
        "HTTP_200": None,
        "HTTP_401": (ErrorBody, "METRICS_TOKEN is set and was not sent as the bearer token"),
        "HTTP_403": (ErrorBody, "no METRICS_TOKEN is set, and the caller is not on this host"),
    },
    public=True,
)
def scrape() -> Response:
    """Prometheus metrics of the API: METRICS_TOKEN as a bearer token, or loopback without it."""
    refusal = metrics_refusal(
        get_settings().METRICS_TOKEN, request.headers.get("Authorization"), request.remote_addr
    )
    if refusal:
        raise refusal
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _start_clock() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule else "unmatched"
    status = response.status_code
    elapsed = time.perf_counter() - g.get("metrics_started", time.perf_counter())
    metrics.observe_request(route, request.method, status, elapsed)
    if status in REFUSALS:
        error = (response.get_json(silent=True) or {}).get("error") or {}
        metrics.count_refusal(route, str(error.get("code", "unavailable")))
    kind = SUBMIT_KINDS.get(route)
    if kind and request.method == "POST" and status in (200, 202) and not _replayed(response):
        metrics.count_job_submitted(kind)
    return response


def _replayed(response: Response) -> bool:
    """An Idempotency-Key repeated: the answer is the first job's, and no job was made."""
    return "Idempotent-Replayed" in response.headers
