"""The create parameters and the operator's caps through the real stack: what reaches the
upstream (the offline upstream's request log), the caps' 422s, a job cut by its bound, and one
safety identifier per user."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.create_parameters import EVERY_PARAMETER
from tests.harness import Stack, wait_until
from tests.integration.conftest import chat, running, wait_for_job

LONG_MESSAGE = "one two three four five six seven eight nine ten eleven twelve thirteen"


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def upstream_calls(upstream: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    """The upstream requests made for one job, in order."""
    log = upstream.get("/_offline/stats").json()["requests"]
    return [entry for entry in log if entry["job_id"] == job_id]


def test_parameters_reach_the_upstream_on_every_tool_round(
    api: httpx.Client, upstream: httpx.Client
) -> None:
    user = new_user()
    job = chat(api, user, "What's the weather in Paris?", tools=["get_weather"], **EVERY_PARAMETER)
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed", done
    calls = upstream_calls(upstream, job["id"])
    assert len(calls) == 2, calls  # the call that asks for the tool, and the one after it
    for call in calls:
        assert {name: call["params"][name] for name in EVERY_PARAMETER} == EVERY_PARAMETER


def test_responses_requests_pass_them_through_too(
    api: httpx.Client, upstream: httpx.Client
) -> None:
    user = new_user()
    sampling = {"temperature": 1.5, "top_p": 0.25, "service_tier": "flex", "truncation": "disabled"}
    response = api.post("/v1/responses", json={"input": "hello", "user_id": user, **sampling})
    assert response.status_code == 202, response.text
    job = response.json()
    assert wait_for_job(api, job["id"], user)["status"] == "completed"
    [call] = upstream_calls(upstream, job["id"])
    assert {name: call["params"][name] for name in sampling} == sampling


def test_a_call_without_a_bound_gets_max_output_tokens(
    api: httpx.Client, upstream: httpx.Client
) -> None:
    user = new_user()
    job = chat(api, user, "Hello, my name is Zed. Please greet me.")
    assert wait_for_job(api, job["id"], user)["status"] == "completed"
    [call] = upstream_calls(upstream, job["id"])
    assert call["params"]["max_output_tokens"] == 4096
    assert "temperature" not in call["params"] and "tool_choice" not in call["params"]


def test_a_job_cut_by_its_bound_is_incomplete_and_keeps_its_text(api: httpx.Client) -> None:
    user = new_user()
    job = chat(api, user, LONG_MESSAGE, max_output_tokens=16)
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "incomplete", done
    assert done["result"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert done["result"]["output_text"] == (
        "[offline turn 1] You said: one two three four five six seven eight nine ten eleven"
    )
    assert "max_output_tokens" in done["error"]["message"]


def test_the_caps_refuse_with_422(api: httpx.Client) -> None:
    user = new_user()
    too_many = api.post(
        "/v1/chat", json={"message": "hi", "user_id": user, "max_output_tokens": 4097}
    )
    assert too_many.status_code == 422
    assert too_many.json()["error"]["code"] == "max_output_tokens_too_large"
    assert "4096" in too_many.json()["error"]["message"]
    other_model = api.post("/v1/responses", json={"input": "hi", "user_id": user, "model": "o3"})
    assert other_model.status_code == 422
    error = other_model.json()["error"]
    assert (error["code"], error["param"]) == ("model_not_allowed", "model")
    assert "gpt-5-nano" in error["message"] and "short-model" in error["message"]
    unknown = api.post("/v1/chat", json={"message": "hi", "user_id": user, "seed": 7})
    assert (unknown.status_code, unknown.json()["error"]["param"]) == (422, "seed")


def test_an_admin_gives_one_user_other_models(stack: Stack, api: httpx.Client) -> None:
    allowed, other = new_user(), new_user()
    assert "models=gpt-4o" in stack.flask("users", "set", allowed, "--models", "gpt-4o")
    job = chat(api, allowed, "hi", model="gpt-4o")
    done = wait_for_job(api, job["id"], allowed)
    assert done["status"] == "completed", done
    refused = api.post("/v1/chat", json={"message": "hi", "user_id": other, "model": "gpt-4o"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "model_not_allowed"


def test_one_safety_identifier_per_user(api: httpx.Client, upstream: httpx.Client) -> None:
    alice, bob = new_user(), new_user()
    jobs = [
        (alice, chat(api, alice, "hi")),
        (alice, chat(api, alice, "again")),
        (bob, chat(api, bob, "hi")),
    ]
    identifiers = []
    for user, job in jobs:
        assert wait_for_job(api, job["id"], user)["status"] == "completed"
        [call] = upstream_calls(upstream, job["id"])
        identifiers.append(call["params"]["safety_identifier"])
    assert identifiers[0] == identifiers[1] != identifiers[2]
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in identifiers), identifiers


@pytest.fixture(scope="module", params=["sqlite"])
def refusing_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """An upstream that refuses `safety_identifier` as an unknown parameter."""
    settings = {"OFFLINE_OPENAI_CAPABILITIES": "safety_identifier=false"}
    with running(request, Stack(database=request.param, settings=settings)) as stack:
        yield stack


def test_the_probe_leaves_out_a_safety_identifier_the_upstream_refuses(
    refusing_stack: Stack,
) -> None:
    user = new_user()
    with refusing_stack.client() as api, refusing_stack.upstream() as upstream:
        job = chat(api, user, "hi")
        done = wait_for_job(api, job["id"], user)
        assert done["status"] == "completed", done
        [call] = upstream_calls(upstream, job["id"])
    assert "safety_identifier" not in call["params"]
    wait_until(
        lambda: "safety_identifier=False" in refusing_stack.processes["worker"].log(),
        timeout=5,
        what="the probe's finding in the worker log",
    )
