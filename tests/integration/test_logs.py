"""Correlated logs: one job followed from its HTTP line to its final worker line by its ids."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tests.harness import Stack, wait_until
from tests.integration.conftest import wait_for_job


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def test_one_job_can_be_followed_from_its_request_to_its_last_worker_line(
    stack: Stack, api: httpx.Client
) -> None:
    user = f"logs-{uuid.uuid4().hex[:6]}"
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    submitted = api.post(
        "/v1/chat",
        json={"message": "trace me", "user_id": user},
        headers={"X-Request-ID": request_id},
    )
    assert submitted.headers["X-Request-ID"] == request_id
    job = wait_for_job(api, submitted.json()["id"], user)
    assert api.get("/healthz").headers["X-Request-ID"]  # made up when the caller sends none

    [http_line] = [
        line
        for line in json_lines(stack.processes["api"].log())
        if line.get("request_id") == request_id
    ]
    assert (http_line["route"], http_line["status"], http_line["method"]) == (
        "/v1/chat",
        202,
        "POST",
    )

    def worker_lines() -> list[dict[str, Any]]:
        return [
            line
            for line in json_lines(stack.processes["worker"].log())
            if line.get("request_id") == request_id
        ]

    wait_until(
        lambda: any(w["message"].startswith("job finished") for w in worker_lines()),
        what="the job's last worker line",
    )
    lines = worker_lines()
    assert {line["job_id"] for line in lines} == {job["id"]}
    assert {line["conversation_id"] for line in lines} == {job["conversation_id"]}
    # One INFO line a job (beside the worker process's one probe of the upstream, at its first).
    messages = [m["message"] for m in lines if not m["message"].startswith("upstream capabilities")]
    assert messages == ["job finished: completed"]
    assert lines[-1]["message"] == "job finished: completed"
    assert lines[-1]["upstream_response_id"] == job["result"]["response_id"]


def test_tasks_ticks_and_upstream_requests_write_no_info_lines(
    stack: Stack, api: httpx.Client
) -> None:
    user = f"quiet-{uuid.uuid4().hex[:6]}"
    submitted = api.post("/v1/chat", json={"message": "quiet please", "user_id": user})
    wait_for_job(api, submitted.json()["id"], user)
    worker, beat = stack.processes["worker"].log(), stack.processes["beat"].log()
    assert " ready." in worker  # the log is the worker's, from its start
    for routine in ("] received", "] succeeded in", "HTTP Request:"):
        assert routine not in worker, routine
    assert "Sending due task" not in beat
    assert "beat: Starting" in beat
