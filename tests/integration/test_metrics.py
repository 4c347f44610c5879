"""Prometheus metrics of a real stack: what the API, the worker and beat report is what happened."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import Stack, wait_until
from tests.integration.conftest import DATABASES, chat, running, wait_for_job

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]
HEALTH_CHECKS = 48


@pytest.fixture(scope="module", params=DATABASES[:1])
def metered(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """A stack of its own, so every count below is this module's; conversations expire fast.
    What is counted does not depend on the database: one (SQLite) is enough."""
    settings = {"CONVERSATION_TTL_MINUTES": "0.05", "EXPIRY_SWEEP_SECONDS": "1"}
    with running(request, Stack(database=request.param, settings=settings)) as stack:
        yield stack


def scrape(url: str) -> Series:
    text = httpx.get(url, timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(series: Series, name: str, **labels: str) -> float:
    return series.get((name, frozenset(labels.items())), 0.0)


def grew(before: Series, after: Series, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def api_metrics(stack: Stack) -> Series:
    return scrape(f"{stack.api_url}/metrics")


def worker_metrics(stack: Stack) -> Series:
    return scrape(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics")


def beat_metrics(stack: Stack) -> Series:
    return scrape(f"http://127.0.0.1:{stack.beat_metrics_port}/metrics")


def run_jobs(api: httpx.Client) -> list[dict[str, Any]]:
    """Two chats (one calls the calculate tool, and is sent twice with one Idempotency-Key)
    and a Responses request to a model that fails; answer the finished jobs."""
    alice, bob = f"metrics-{uuid.uuid4().hex[:6]}", f"metrics-{uuid.uuid4().hex[:6]}"
    jobs = [chat(api, alice, "Hello, my name is Ada")]
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"message": "Please calculate 12 * (3 + 4)", "user_id": alice, "tools": ["calculate"]}
    for _ in range(2):
        response = api.post("/v1/chat", json=body, headers=headers)
        assert response.status_code == 202, response.text
    jobs.append(response.json())
    response = api.post(
        "/v1/responses", json={"input": "hi", "model": "failing-model", "user_id": bob}
    )
    assert response.status_code == 202, response.text
    jobs.append(response.json())
    users = [alice, alice, bob]
    return [wait_for_job(api, job["id"], user) for job, user in zip(jobs, users, strict=True)]


def test_the_sweeps_are_counted_by_the_worker(metered: Stack) -> None:
    # The module's first test: no other conversation of this stack's can expire meanwhile.
    before = worker_metrics(metered)
    with metered.client() as api:
        user = f"metrics-{uuid.uuid4().hex[:6]}"
        job = wait_for_job(api, chat(api, user, "soon idle")["id"], user)
    assert job["status"] == "completed"
    wait_until(
        lambda: grew(before, worker_metrics(metered), "gateway_conversations_expired_total") >= 1,
        timeout=30,
        interval=0.5,
        what="the expiry sweep",
    )
    after = worker_metrics(metered)
    assert grew(before, after, "gateway_conversations_expired_total") == 1
    for action in ("requeued", "resent", "failed"):
        assert ("gateway_reconciled_jobs_total", frozenset({("action", action)})) in after


def test_the_api_and_the_worker_count_what_the_jobs_did(metered: Stack) -> None:
    api_before, worker_before = api_metrics(metered), worker_metrics(metered)
    with metered.client() as api:
        done = run_jobs(api)
    assert [job["status"] for job in done] == ["completed", "completed", "failed"]
    api_after = api_metrics(metered)

    assert grew(api_before, api_after, "gateway_jobs_submitted_total", kind="chat") == 2
    assert grew(api_before, api_after, "gateway_jobs_submitted_total", kind="response") == 1
    chats = {"route": "/v1/chat", "method": "POST"}
    assert grew(api_before, api_after, "gateway_http_requests_total", **chats, status="202") == 3
    assert grew(api_before, api_after, "gateway_http_request_duration_seconds_count", **chats) == 3
    polls = {"route": "/v1/jobs/<job_id>", "method": "GET", "status": "200"}
    assert grew(api_before, api_after, "gateway_http_requests_total", **polls) == 3
    label_values = " ".join(str(labels) for _, labels in api_after)
    assert not [job["id"] for job in done if job["id"] in label_values], "an id as a label"

    # An upstream call is counted when its stream ends, before the job's end is stored.
    calls = {"operation": "create", "outcome": "ok"}
    worker_after = worker_metrics(metered)
    # One call each, and a second round for the chat that called a tool; the failing model's
    # response is an answer (status failed), not a failed call.
    assert grew(worker_before, worker_after, "gateway_upstream_calls_total", **calls) == 4
    assert value(worker_after, "gateway_upstream_calls_in_flight") == 0
    duration = "gateway_upstream_call_duration_seconds_count"
    assert grew(worker_before, worker_after, duration, operation="create") == 4
    tool = {"tool": "calculate", "outcome": "ok"}
    assert grew(worker_before, worker_after, "gateway_tool_calls_total", **tool) == 1

    # A job's end is counted just after it is stored, so a poll can see it a moment earlier.
    def finished(kind: str, status: str) -> float:
        now = worker_metrics(metered)
        return grew(worker_before, now, "gateway_jobs_finished_total", kind=kind, status=status)

    wait_until(lambda: finished("chat", "completed") == 2, what="two chats counted")
    assert finished("response", "failed") == 1
    worker_after = worker_metrics(metered)
    for histogram in ("gateway_job_queue_wait_seconds_count", "gateway_job_run_seconds_count"):
        assert grew(worker_before, worker_after, histogram, kind="chat") == 2
        assert grew(worker_before, worker_after, histogram, kind="response") == 1
    assert grew(worker_before, worker_after, "gateway_job_retries_total", kind="chat") == 0


def test_beat_reports_the_backlog(metered: Stack) -> None:
    series = beat_metrics(metered)
    for queue in ("jobs", "maintenance"):
        assert ("gateway_queue_depth", frozenset({("queue", queue)})) in series
    for status in ("queued", "in_progress", "requires_action"):
        assert ("gateway_jobs_active", frozenset({("status", status)})) in series
    with metered.client() as api:
        user = f"metrics-{uuid.uuid4().hex[:6]}"
        assert wait_for_job(api, chat(api, user, "hi")["id"], user)["status"] == "completed"
    assert value(beat_metrics(metered), "gateway_jobs_active", status="queued") == 0


def served_health_checks(metrics_dir: Path) -> dict[str, float]:
    """Health checks each gunicorn process counted, read from its own metrics file."""
    counted: dict[str, float] = {}
    for path in metrics_dir.glob("counter_*.db"):
        entries = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
        counted[path.stem.removeprefix("counter_")] = sum(
            count
            for key, count, _, _ in entries
            if '"/healthz"' in key and '"gateway_http_requests_total"' in key
        )
    return counted


def test_the_api_sums_the_metrics_of_every_gunicorn_process(metered: Stack) -> None:
    labels = {"route": "/healthz", "method": "GET", "status": "200"}
    before = api_metrics(metered)

    def check(_: int) -> int:
        return httpx.get(f"{metered.api_url}/healthz", timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(check, range(HEALTH_CHECKS))) == {200}
    after = api_metrics(metered)
    assert grew(before, after, "gateway_http_requests_total", **labels) == HEALTH_CHECKS
    per_process = served_health_checks(metered.workdir / "api-metrics")
    assert len([count for count in per_process.values() if count]) >= 2, per_process
    assert sum(per_process.values()) == value(after, "gateway_http_requests_total", **labels)
