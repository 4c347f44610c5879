"""The Responses create parameters callers may set, and the operator's caps on them."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.create_parameters import CreateParameters
from shared.accounts import safety_identifier as safety
from shared.accounts.users import set_limits
from shared.core import settings
from shared.core.db import read_session
from shared.core.models import Job
from shared.jobs.create_parameters import CREATE_PARAMETERS
from shared.jobs.lifecycle import claim_job
from shared.jobs.submission import JobSubmission, submit_job
from tests.create_parameters import EVERY_PARAMETER
from tests.unit.test_http_errors import auth, error_of
from worker import turns
from worker.capabilities import Capabilities

CAPS = Capabilities(conversations=False, previous_response=False, background=False, retrieve=False)


@pytest.fixture()
def configure(monkeypatch: pytest.MonkeyPatch) -> Any:
    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        settings.get_settings.cache_clear()

    return set_env


@pytest.fixture(autouse=True)
def fresh_safety_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety, "_key", None)


def stored_request(job_id: str) -> dict[str, Any]:
    with read_session() as session:
        return session.scalars(select(Job.request).where(Job.id == job_id)).one()  # type: ignore[no-any-return]


def test_the_request_models_and_the_worker_name_the_same_parameters() -> None:
    assert tuple(CreateParameters.model_fields) == CREATE_PARAMETERS


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/responses"])
def test_every_create_parameter_is_accepted_and_kept_with_the_job(
    client: FlaskClient, token: str, path: str
) -> None:
    body = {"tools": ["get_weather"], **EVERY_PARAMETER}
    body |= {"message": "weather?"} if path == "/v1/chat" else {"input": "weather?"}
    response = client.post(path, json=body, headers=auth(token))
    assert response.status_code == 202, response.get_json()
    kept = stored_request(response.get_json()["id"])
    assert {name: kept[name] for name in CREATE_PARAMETERS} == EVERY_PARAMETER


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("max_output_tokens", 15, "max_output_tokens"),
        ("temperature", 2.5, "temperature"),
        ("temperature", -0.1, "temperature"),
        ("top_p", 1.01, "top_p"),
        ("top_logprobs", 21, "top_logprobs"),
        ("max_tool_calls", -1, "max_tool_calls"),
        ("truncation", "sometimes", "truncation"),
        ("service_tier", "turbo", "service_tier"),
        ("include", ["everything"], "include.0"),
        ("tool_choice", "always", "tool_choice"),
        ("tool_choice", {"type": "teleport"}, "tool_choice"),
        ("prompt_cache_key", "", "prompt_cache_key"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/chat", "/v1/responses"])
def test_a_value_outside_openais_bounds_is_422_naming_it(
    client: FlaskClient, token: str, path: str, field: str, value: Any, param: str
) -> None:
    body = {"message": "hi"} if path == "/v1/chat" else {"input": "hi"}
    response = client.post(
        path, json={**body, "tools": ["get_weather"], field: value}, headers=auth(token)
    )
    assert response.status_code == 422
    assert error_of(response)["param"].startswith(param)  # type: ignore[union-attr]


def test_other_create_parameters_are_still_unknown_fields(client: FlaskClient, token: str) -> None:
    response = client.post(
        "/v1/chat", json={"message": "hi", "frequency_penalty": 1}, headers=auth(token)
    )
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["param"]) == ("unknown_parameter", "frequency_penalty")


def test_asking_for_more_than_max_output_tokens_is_422_naming_the_limit(
    client: FlaskClient, token: str, configure: Any
) -> None:
    configure(MAX_OUTPUT_TOKENS="100")
    over = client.post(
        "/v1/chat", json={"message": "hi", "max_output_tokens": 101}, headers=auth(token)
    )
    assert over.status_code == 422
    error = error_of(over)
    assert (error["code"], error["param"]) == ("max_output_tokens_too_large", "max_output_tokens")
    assert "100" in str(error["message"])
    at = client.post(
        "/v1/chat", json={"message": "hi", "max_output_tokens": 100}, headers=auth(token)
    )
    assert at.status_code == 202


def test_only_the_configured_model_is_allowed_by_default(client: FlaskClient, token: str) -> None:
    other = client.post("/v1/chat", json={"message": "hi", "model": "gpt-4o"}, headers=auth(token))
    assert other.status_code == 422
    error = error_of(other)
    assert (error["code"], error["param"]) == ("model_not_allowed", "model")
    assert "gpt-5-nano" in str(error["message"])
    named = client.post(
        "/v1/chat", json={"message": "hi", "model": "gpt-5-nano"}, headers=auth(token)
    )
    assert named.status_code == 202


def test_allowed_models_lists_more_and_a_star_allows_any(
    client: FlaskClient, token: str, configure: Any
) -> None:
    configure(ALLOWED_MODELS="gpt-4o, gpt-4.1")
    for model, status in (("gpt-4o", 202), ("gpt-4.1", 202), ("o3", 422)):
        response = client.post(
            "/v1/responses", json={"input": "hi", "model": model}, headers=auth(token)
        )
        assert response.status_code == status, model
    assert "gpt-4.1, gpt-4o, gpt-5-nano" in str(error_of(response)["message"])
    configure(ALLOWED_MODELS="*")
    response = client.post(
        "/v1/responses", json={"input": "hi", "model": "o3"}, headers=auth(token)
    )
    assert response.status_code == 202


def test_a_users_own_models_replace_allowed_models(
    client: FlaskClient, token: str, service_token: str, configure: Any
) -> None:
    configure(ALLOWED_MODELS="gpt-4o")
    set_limits("alice", {"allowed_models": ["o3"]})

    def status(model: str, user_id: str | None = None) -> int:
        body = {"message": "hi", "model": model} | ({"user_id": user_id} if user_id else {})
        credential = service_token if user_id else token
        return client.post("/v1/chat", json=body, headers=auth(credential)).status_code

    assert (status("o3"), status("gpt-4o"), status("gpt-5-nano")) == (202, 422, 202)
    assert (status("o3", "bob"), status("gpt-4o", "bob")) == (422, 202)
    set_limits("alice", {"allowed_models": None})
    assert (status("o3"), status("gpt-4o")) == (422, 202)


def test_users_set_models_from_the_command_line(app: Flask) -> None:
    runner = app.test_cli_runner()
    done = runner.invoke(args=["users", "set", "carol", "--models", "o3, gpt-4o"])
    assert done.exit_code == 0, done.output
    assert "models=o3,gpt-4o" in done.output
    assert (
        "carol\tcarol\tmax_inflight=default\tweight=1\tmodels=o3,gpt-4o"
        in runner.invoke(args=["users", "list"]).output
    )
    assert (
        "models=default" in runner.invoke(args=["users", "set", "carol", "--default-models"]).output
    )
    empty = runner.invoke(args=["users", "set", "carol", "--models", " , "])
    assert empty.exit_code != 0 and "at least one model" in empty.output


@pytest.mark.parametrize(
    ("tools", "choice", "param"),
    [
        (None, "required", "tool_choice"),
        (None, {"type": "function", "name": "get_weather"}, "tool_choice"),
        (["get_time"], {"type": "function", "name": "get_weather"}, "tool_choice.name"),
        (["get_time"], {"type": "file_search"}, "tool_choice.type"),
        (["get_time"], {"type": "mcp", "server_label": "docs"}, "tool_choice.server_label"),
    ],
)
def test_a_tool_choice_naming_no_tool_of_the_request_is_422(
    client: FlaskClient, token: str, tools: list[str] | None, choice: Any, param: str
) -> None:
    body: dict[str, Any] = {"message": "hi", "tool_choice": choice}
    if tools:
        body["tools"] = tools
    response = client.post("/v1/chat", json=body, headers=auth(token))
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["param"]) == ("invalid_tool_choice", param)


def test_none_and_auto_need_no_tools(client: FlaskClient, token: str) -> None:
    for choice in ("none", "auto"):
        response = client.post(
            "/v1/chat", json={"message": "hi", "tool_choice": choice}, headers=auth(token)
        )
        assert response.status_code == 202


def first_params(
    request: dict[str, Any], user_id: str = "u", caps: Capabilities = CAPS
) -> dict[str, Any]:
    job, _ = submit_job(JobSubmission(user_id=user_id, kind="response", request=request))
    claim = claim_job(job.id)
    assert claim is not None
    return turns.Turn(claim, caps).first_params()


def test_every_upstream_call_carries_the_callers_parameters_and_a_bound(sent: list[str]) -> None:
    job, _ = submit_job(
        JobSubmission(user_id="u", kind="response", request={"input": "hi", **EVERY_PARAMETER})
    )
    claim = claim_job(job.id)
    assert claim is not None
    turn = turns.Turn(claim, CAPS)
    outputs = [{"type": "function_call_output", "call_id": "call_1", "output": "{}"}]
    for params in (turn.first_params(), turn.continuation(outputs)):
        assert {name: params[name] for name in CREATE_PARAMETERS} == EVERY_PARAMETER
    assert first_params({"input": "hi"})["max_output_tokens"] == 4096


def test_the_bound_follows_max_output_tokens(sent: list[str], configure: Any) -> None:
    configure(MAX_OUTPUT_TOKENS="64")
    assert first_params({"input": "hi"})["max_output_tokens"] == 64


def test_the_safety_identifier_is_a_keyed_hash_stable_per_user(
    sent: list[str], configure: Any
) -> None:
    configure(SAFETY_IDENTIFIER_KEY="k" * 32)
    alice = [first_params({"input": "hi"}, "alice")["safety_identifier"] for _ in range(2)]
    bob = first_params({"input": "hi"}, "bob")["safety_identifier"]
    assert alice[0] == alice[1] != bob
    expected = hmac.new(b"k" * 32, b"alice", hashlib.sha256).hexdigest()
    assert alice[0] == expected and len(expected) == 64 and "alice" not in expected


def test_without_a_key_one_random_key_is_shared_through_redis(sent: list[str]) -> None:
    first = safety.safety_identifier("alice")
    safety._key = None  # another worker process, the same Redis
    assert safety.safety_identifier("alice") == first
    assert first != hmac.new(b"", b"alice", hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("mode", "upstream_takes_it", "sent_it"),
    [
        ("auto", True, True),
        ("auto", False, False),
        ("off", True, False),
        ("on", False, True),
    ],
)
def test_safety_identifier_setting_and_probe_decide_whether_it_is_sent(
    sent: list[str], configure: Any, mode: str, upstream_takes_it: bool, sent_it: bool
) -> None:
    configure(SAFETY_IDENTIFIER=mode)
    caps = Capabilities(
        conversations=False,
        previous_response=False,
        background=False,
        retrieve=False,
        safety_identifier=upstream_takes_it,
    )
    assert ("safety_identifier" in first_params({"input": "hi"}, caps=caps)) is sent_it


def test_the_openapi_document_lists_the_parameters(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    for model in ("ChatRequest", "ResponsesRequest"):
        properties = document["components"]["schemas"][model]["properties"]
        assert set(CREATE_PARAMETERS) <= set(properties), model
    assert document["components"]["schemas"]["ChatRequest"]["properties"]["max_output_tokens"]
