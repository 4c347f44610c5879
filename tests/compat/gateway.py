"""What the compat tests do through the gateway's HTTP API, and a replay of the worker's
capability probe against the chain (to say exactly what the proxy answered when `auto` picks an
unexpected history mode)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai

TERMINAL = frozenset({"completed", "failed", "cancelled", "incomplete"})


def chat(api: httpx.Client, user_id: str, message: str, **fields: Any) -> dict[str, Any]:
    response = api.post("/v1/chat", json={"message": message, "user_id": user_id, **fields})
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def get_job(api: httpx.Client, user_id: str, job_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/jobs/{job_id}", params={"user_id": user_id})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def wait_for_job(
    api: httpx.Client, user_id: str, job_id: str, timeout: float = 120
) -> dict[str, Any]:
    """Long-polls until the job is terminal or `timeout` passes; answers the last body seen."""
    deadline = time.monotonic() + timeout
    job = get_job(api, user_id, job_id)
    while job["status"] not in TERMINAL and time.monotonic() < deadline:
        wait = max(1, min(30, int(deadline - time.monotonic())))
        response = api.get(f"/v1/jobs/{job_id}", params={"user_id": user_id, "wait": wait})
        assert response.status_code == 200, response.text
        job = response.json()
    return job


def read_events(api: httpx.Client, user_id: str, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The job's Server-Sent Events, (name, data), until the stream ends at the job's end."""
    found: list[tuple[str, dict[str, Any]]] = []
    with api.stream(
        "GET", f"/v1/jobs/{job_id}/events", params={"user_id": user_id}, timeout=180
    ) as response:
        assert response.status_code == 200, response.read()
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                found.append((name, json.loads(line[6:])))
    return found


def _outcome(call: Callable[[], Any]) -> str:
    try:
        answer = call()
    except openai.APIStatusError as exc:
        return f"HTTP {exc.status_code}: {exc.response.text[:400]}"
    except openai.APIError as exc:
        return f"{type(exc).__name__}: {exc}"
    status = getattr(answer, "status", None)
    return f"ok: id={str(getattr(answer, 'id', ''))[:40]}… status={status}"


def probe_report(base_url: str, api_key: str, model: str) -> dict[str, str]:
    """The calls of worker/capabilities.py's probe, each with what the upstream answered."""
    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=120)
    report = {"conversations.create": _outcome(lambda: client.conversations.create())}
    first: Any = None

    def create_background() -> Any:
        nonlocal first
        first = client.responses.create(model=model, input="ping", background=True, store=True)
        return first

    report["responses.create(background=True)"] = _outcome(create_background)
    if first is not None:
        report["responses.retrieve"] = _outcome(lambda: client.responses.retrieve(first.id))
        report["responses.create(previous_response_id)"] = _outcome(
            lambda: client.responses.create(
                model=model, input="ping", previous_response_id=first.id
            )
        )
    return report
