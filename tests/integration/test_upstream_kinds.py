"""One service, several kinds of upstream (DESIGN §8): the offline upstream plays OpenAI, a
LiteLLM proxy (no Conversations API, no retrieve, no real background mode, long response ids)
and vLLM or Ollama (not even previous_response_id). A conversation behaves the same in each."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from offline_weather.server import OpenMeteo
from tests.harness import Stack, wait_until
from tests.integration.conftest import chat, running, wait_for_job

KINDS = {
    "openai": ("", "conversations"),
    "litellm": ("conversations=false,retrieve=false,background=false", "previous_response"),
    "vllm": (
        "conversations=false,retrieve=false,background=false,previous_response=false",
        "local",
    ),
}
LONG_ID = 400


@pytest.fixture(scope="module", params=list(KINDS))
def kind_stack(request: pytest.FixtureRequest, open_meteo: OpenMeteo) -> Iterator[Stack]:
    capabilities, _mode = KINDS[request.param]
    with running(
        request,
        Stack(
            settings={
                "OFFLINE_OPENAI_CAPABILITIES": capabilities,
                "WEATHER_API_URL": f"{open_meteo.base_url}/v1/forecast",
                "GEOCODING_API_URL": f"{open_meteo.base_url}/v1/search",
                "RATE_LIMIT": "100000/minute",
            }
        ),
    ) as stack:
        if request.param == "litellm":
            with stack.upstream() as upstream:
                upstream.put("/_offline/config", json={"response_id_length": LONG_ID})
        stack.kind = request.param  # type: ignore[attr-defined]
        yield stack


def new_user() -> str:
    return f"kind-{uuid.uuid4().hex[:8]}"


def upstream_requests(stack: Stack, job_ids: list[str]) -> list[dict[str, Any]]:
    with stack.upstream() as upstream:
        log = upstream.get("/_offline/stats").json()["requests"]
    wanted = set(job_ids)
    return [entry for entry in log if entry["job_id"] in wanted]


def test_a_conversation_remembers_in_every_history_mode(kind_stack: Stack) -> None:
    user = new_user()
    with kind_stack.client() as api:
        first = chat(api, user, "Hello, my name is Ada.")
        assert wait_for_job(api, first["id"], user)["status"] == "completed"
        second = chat(api, user, "What is my name?", conversation_id=first["conversation_id"])
        answer = wait_for_job(api, second["id"], user)["result"]["output_text"]
    assert answer.startswith("[offline turn 2]") and "Ada" in answer
    first_request, second_request = upstream_requests(kind_stack, [first["id"], second["id"]])
    mode = KINDS[kind_stack.kind][1]  # type: ignore[attr-defined]
    if mode == "conversations":
        assert second_request["conversation"] == first_request["conversation"] is not None
    elif mode == "previous_response":
        assert second_request["conversation"] is None
        assert second_request["previous_response_id"] == first_request["response_id"]
    else:
        assert second_request["conversation"] is None
        assert second_request["previous_response_id"] is None


def test_order_history_and_close_behave_the_same(kind_stack: Stack) -> None:
    user = new_user()
    with kind_stack.client() as api:
        first = chat(api, user, "turn one")
        conversation_id = first["conversation_id"]

        def submit(index: int) -> str:
            return str(chat(api, user, f"turn {index}", conversation_id=conversation_id)["id"])

        with ThreadPoolExecutor(6) as pool:
            later = list(pool.map(submit, range(2, 8)))
        jobs = [wait_for_job(api, job_id, user) for job_id in [first["id"], *later]]
        assert {job["status"] for job in jobs} == {"completed"}
        in_order = sorted(jobs, key=lambda job: job["id"])
        received = [r["job_id"] for r in upstream_requests(kind_stack, [j["id"] for j in jobs])]
        assert received == [job["id"] for job in in_order]
        turns = [job["result"]["output_text"].split("]")[0] for job in in_order]
        assert turns == [f"[offline turn {n}" for n in range(1, 8)]
        history = api.get(
            f"/v1/conversations/{conversation_id}/responses", params={"user_id": user}
        ).json()["data"]
        assert [row["job_id"] for row in history] == [job["id"] for job in in_order]
        api.post(f"/v1/conversations/{conversation_id}/close", json={"user_id": user})
        closed = api.post(
            "/v1/chat",
            json={"message": "more", "user_id": user, "conversation_id": conversation_id},
        )
        assert closed.status_code == 409


def test_tools_and_streaming_work_without_background_mode(kind_stack: Stack) -> None:
    user = new_user()
    with kind_stack.client() as api:
        job = chat(api, user, "What's the weather in Paris?", tools=["get_weather"])
        names = []
        with api.stream(
            "GET", f"/v1/jobs/{job['id']}/events", params={"user_id": user}, timeout=30
        ) as events:
            names = [line[7:] for line in events.iter_lines() if line.startswith("event: ")]
        done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed", done
    assert [item["type"] for item in done["result"]["output"]] == [
        "function_call",
        "function_call_output",
        "message",
    ]
    assert "21.4" in done["result"]["output_text"]
    assert {"tool_call", "tool_output", "output_text.delta"} <= set(names)
    assert names[-1] == "status"


def test_streams_that_end_incomplete_or_failed_end_the_job_so(kind_stack: Stack) -> None:
    user = new_user()
    with kind_stack.client() as api:
        short = chat(api, user, "Tell me a rather long story please", model="short-model")
        failing = chat(api, user, "anything", model="failing-model")
        incomplete = wait_for_job(api, short["id"], user)
        failed = wait_for_job(api, failing["id"], user)
    assert incomplete["status"] == "incomplete"
    assert "max_output_tokens" in incomplete["error"]["message"]
    assert len(incomplete["result"]["output_text"].split()) == 3
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "upstream_error"
    assert "fails on purpose" in failed["error"]["message"]


def test_cancel_stops_a_running_job_on_every_kind(kind_stack: Stack) -> None:
    user = new_user()
    with kind_stack.client() as api, kind_stack.upstream() as upstream:
        upstream.put("/_offline/config", json={"latency_ms": 4000})
        try:
            job = chat(api, user, "slow one")
            wait_until(
                lambda: (
                    api.get(f"/v1/jobs/{job['id']}", params={"user_id": user}).json()["status"]
                    == "in_progress"
                ),
                what="the job to start",
            )
            time.sleep(0.3)
            started = time.monotonic()
            api.post(f"/v1/jobs/{job['id']}/cancel", json={"user_id": user})
            done = wait_for_job(api, job["id"], user, timeout=5)
            assert time.monotonic() - started < 2.5  # the upstream would take 4 s
        finally:
            upstream.put("/_offline/config", json={"latency_ms": 0})
    assert done["status"] == "cancelled"


def test_upstream_ids_of_any_length_are_stored_as_they_come(kind_stack: Stack) -> None:
    user = new_user()
    with kind_stack.client() as api:
        job = chat(api, user, "an id of any shape")
        done = wait_for_job(api, job["id"], user)
        response_id = done["result"]["response_id"]
        stored = api.get(f"/v1/responses/{response_id}", params={"user_id": user})
    if kind_stack.kind == "litellm":  # type: ignore[attr-defined]
        assert len(response_id) == len("resp_") + LONG_ID
    assert stored.status_code == 200
    assert stored.json()["output_text"] == done["result"]["output_text"]
    assert json.loads(json.dumps(stored.json()))["id"] == response_id
