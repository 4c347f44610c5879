"""Metrics: named by Prometheus conventions, never labelled by an id, counted where it happens."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import httpx2
import openai
import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from shared.core import metrics, settings
from shared.core.redis_client import get_redis
from tests.unit.chats import submit
from worker.metrics_server import BacklogCollector

# Each of these has a value per user, job, conversation or request: a series apiece, for ever.
FORBIDDEN_LABELS = {
    "id", "user", "user_id", "job", "job_id", "conversation", "conversation_id", "response_id",
    "file_id", "request_id", "token", "path", "url", "message", "error_message",
}  # fmt: skip
BASE_UNIT_SUFFIXES = ("_seconds", "_bytes")


def defined_metrics() -> list[MetricWrapperBase]:
    return [value for value in vars(metrics).values() if isinstance(value, MetricWrapperBase)]


def sample(name: str, registry: CollectorRegistry = REGISTRY, /, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_metric_is_named_by_prometheus_conventions() -> None:
    defined = defined_metrics()
    assert len(defined) >= 15
    for metric in defined:
        [family] = metric.describe()
        name = family.name
        assert re.fullmatch(r"gateway_[a-z][a-z0-9_]*[a-z0-9]", name), name
        assert family.documentation, f"{name} has no help text"
        if family.type == "counter":
            assert not name.endswith("_total"), f"{name}: the client adds _total once"
        elif family.type == "histogram":
            assert name.endswith(BASE_UNIT_SUFFIXES), f"{name}: a histogram in base units"
        else:
            assert family.type == "gauge", name
            assert not name.endswith("_total"), f"{name}: _total is for counters"
        assert not re.search(r"_(milliseconds|ms|minutes|kilobytes)(_|$)", name), name


def test_no_metric_is_labelled_by_an_id_or_a_path() -> None:
    for metric in defined_metrics():
        labels = set(metric._labelnames)
        assert not labels & FORBIDDEN_LABELS, f"{metric._name}: {labels & FORBIDDEN_LABELS}"


def test_gunicorns_master_leaves_the_metrics_client_to_its_workers() -> None:
    """The master imports the api package to read api/gunicorn_config.py; were the client
    imported there, the workers it forks would count in memory, each alone, not in the shared
    directory that /metrics sums."""
    check = "import sys, api.gunicorn_config; sys.exit('prometheus_client' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", check], check=False).returncode == 0


def test_requests_are_counted_by_route_template_not_path(client: FlaskClient, token: str) -> None:
    route = "/v1/jobs/<job_id>"
    before = sample("gateway_http_requests_total", route=route, method="GET", status="404")
    for job_id in ("job_aaa", "job_bbb"):
        assert client.get(f"/v1/jobs/{job_id}", headers=auth(token)).status_code == 404
    assert client.get("/no/such/page").status_code == 404
    after = sample("gateway_http_requests_total", route=route, method="GET", status="404")
    assert after - before == 2
    assert sample("gateway_http_requests_total", route="unmatched", method="GET", status="404")
    exposed = client.get("/metrics")
    assert exposed.status_code == 200
    assert exposed.content_type.startswith("text/plain")
    text = exposed.get_data(as_text=True)
    assert 'route="/v1/jobs/<job_id>"' in text
    assert "job_aaa" not in text and "/no/such/page" not in text
    assert sample("gateway_http_request_duration_seconds_count", route=route, method="GET") >= 2


def test_a_submit_counts_one_job_and_an_idempotent_replay_none(
    client: FlaskClient, token: str, sent: list[str]
) -> None:
    before = sample("gateway_jobs_submitted_total", kind="chat")
    headers = {**auth(token), "Idempotency-Key": "metrics-replay"}
    for _ in range(2):
        response = client.post("/v1/chat", json={"message": "hi"}, headers=headers)
        assert response.status_code == 202
    assert sample("gateway_jobs_submitted_total", kind="chat") - before == 1


def test_rate_limited_answers_are_counted_as_refusals(
    client: FlaskClient, token: str, sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT", "1/minute")
    settings.get_settings.cache_clear()
    labels = {"route": "/v1/chat", "code": "rate_limited"}
    before = sample("gateway_http_refusals_total", **labels)
    statuses = [
        client.post("/v1/chat", json={"message": "hi"}, headers=auth(token)).status_code
        for _ in range(3)
    ]
    assert statuses.count(429) == 2
    assert sample("gateway_http_refusals_total", **labels) - before == 2


UPSTREAM = httpx2.Request("POST", "http://upstream.test/v1/responses")


def status_error(error: type[openai.APIStatusError], status: int) -> openai.APIStatusError:
    return error("upstream said no", response=httpx2.Response(status, request=UPSTREAM), body=None)


def test_upstream_calls_are_counted_by_outcome_and_leave_nothing_in_flight() -> None:
    ok_before = sample("gateway_upstream_calls_total", operation="create", outcome="ok")
    limited_before = sample(
        "gateway_upstream_calls_total", operation="create", outcome="rate_limited"
    )
    with metrics.upstream_call("create"):
        assert sample("gateway_upstream_calls_in_flight") == 1
    with pytest.raises(openai.RateLimitError), metrics.upstream_call("create"):
        raise status_error(openai.RateLimitError, 429)
    assert sample("gateway_upstream_calls_in_flight") == 0
    assert sample("gateway_upstream_calls_total", operation="create", outcome="ok") - ok_before == 1
    limited = sample("gateway_upstream_calls_total", operation="create", outcome="rate_limited")
    assert limited - limited_before == 1


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (status_error(openai.RateLimitError, 429), "rate_limited"),
        (status_error(openai.InternalServerError, 500), "server_error"),
        (status_error(openai.BadRequestError, 400), "client_error"),
        (openai.APITimeoutError(UPSTREAM), "timeout"),
        (openai.APIConnectionError(request=UPSTREAM), "connection_error"),
        (ValueError("the stream said error"), "error"),
    ],
)
def test_upstream_failures_get_a_bounded_outcome(exc: BaseException, outcome: str) -> None:
    assert metrics.upstream_outcome(exc) == outcome


def test_a_tool_the_model_made_up_is_counted_as_unknown() -> None:
    before = sample("gateway_tool_calls_total", tool="unknown", outcome="error")
    metrics.count_tool_call("drop_tables_please", ok=False)
    assert sample("gateway_tool_calls_total", tool="unknown", outcome="error") - before == 1


def test_a_finished_job_is_counted_with_its_wait_and_run_time() -> None:
    before = sample("gateway_jobs_finished_total", kind="response", status="failed")
    waits = sample("gateway_job_queue_wait_seconds_count", kind="response")
    metrics.observe_job_finished("response", "failed", queue_wait_seconds=0.2, run_seconds=None)
    assert sample("gateway_jobs_finished_total", kind="response", status="failed") - before == 1
    assert sample("gateway_job_queue_wait_seconds_count", kind="response") - waits == 1


def backlog() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(BacklogCollector())
    return registry


def test_beat_reports_queue_depth_and_unfinished_jobs_when_scraped(sent: list[str]) -> None:
    get_redis().rpush("jobs", "m1", "m2")
    submit(user="backlog")
    registry = backlog()
    assert sample("gateway_queue_depth", registry, queue="jobs") == 2
    assert sample("gateway_queue_depth", registry, queue="maintenance") == 0
    assert sample("gateway_jobs_active", registry, status="queued") == 1
    assert sample("gateway_jobs_active", registry, status="in_progress") == 0


def test_a_backlog_source_that_is_away_leaves_its_gauge_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken() -> Any:
        raise ConnectionError("redis is away")

    monkeypatch.setattr("worker.metrics_server.queue_depths", broken)
    samples = [sample for family in backlog().collect() for sample in family.samples]
    assert not [s for s in samples if s.name == "gateway_queue_depth"]
    active = {s.labels["status"] for s in samples if s.name == "gateway_jobs_active"}
    assert active == {"queued", "in_progress", "requires_action"}
