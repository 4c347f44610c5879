"""Tools through the queue: server tools, caller tools, hosted tools, structured output."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tests.integration.conftest import MCP_SERVER, chat, wait_for_job


def new_user() -> str:
    return f"tools-{uuid.uuid4().hex[:8]}"


def items_of(job: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [item for item in job["result"]["output"] if item["type"] == kind]


def respond(api: httpx.Client, user: str, **body: Any) -> dict[str, Any]:
    response = api.post("/v1/responses", json={"user_id": user, **body})
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_weather_assistant_calls_get_weather_and_answers_with_it(api: httpx.Client) -> None:
    user = new_user()
    job = chat(api, user, "What's the weather in Paris?", tools=["get_weather"])
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed", done
    [call] = items_of(done, "function_call")
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    [output] = items_of(done, "function_call_output")
    assert output["call_id"] == call["call_id"]
    weather = json.loads(output["output"])
    assert weather["city"] == "Paris" and weather["temperature_c"] == 21.4
    assert "21.4" in done["result"]["output_text"]
    assert done["result"]["output_text"].startswith("[offline turn")


def test_time_and_arithmetic_tools_run_in_the_worker(api: httpx.Client) -> None:
    user = new_user()
    job = chat(api, user, "What time is it in Europe/Oslo?", tools=["get_time", "calculate"])
    done = wait_for_job(api, job["id"], user)
    [call] = items_of(done, "function_call")
    assert call["name"] == "get_time"
    assert json.loads(items_of(done, "function_call_output")[0]["output"])["timezone"] == (
        "Europe/Oslo"
    )
    job = chat(api, user, "Please calculate 12 * (3 + 4)", tools=["get_time", "calculate"])
    done = wait_for_job(api, job["id"], user)
    assert [c["name"] for c in items_of(done, "function_call")] == ["calculate"]
    assert json.loads(items_of(done, "function_call_output")[0]["output"])["result"] == 84
    assert "84" in done["result"]["output_text"]


def test_a_failing_tool_is_reported_to_the_model_not_the_job(api: httpx.Client) -> None:
    user = new_user()
    job = chat(api, user, "What's the weather in Atlantis?", tools=["get_weather"])
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed"
    assert "error" in json.loads(items_of(done, "function_call_output")[0]["output"])


CALLER_TOOL = {
    "type": "function",
    "name": "lookup_weather",
    "description": "Look up the weather for a city in our own records",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


def test_a_caller_tool_parks_the_job_until_its_outputs_arrive(api: httpx.Client) -> None:
    user = new_user()
    job = respond(api, user, input="What's the weather in Oslo?", tools=[CALLER_TOOL])
    waiting = wait_for_job(api, job["id"], user)
    assert waiting["status"] == "requires_action", waiting
    [call] = waiting["required_action"]["tool_calls"]
    assert call["name"] == "lookup_weather" and json.loads(call["arguments"]) == {"city": "Oslo"}

    wrong = api.post(
        f"/v1/jobs/{job['id']}/tool_outputs",
        json={"user_id": user, "tool_outputs": [{"call_id": "call_nope", "output": "x"}]},
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["param"] == "tool_outputs.0.call_id"

    resumed = api.post(
        f"/v1/jobs/{job['id']}/tool_outputs",
        json={
            "user_id": user,
            "tool_outputs": [{"call_id": call["call_id"], "output": "sunny, 18C"}],
        },
    )
    assert resumed.status_code == 200, resumed.text
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed", done
    assert "sunny, 18C" in done["result"]["output_text"]
    assert [i["type"] for i in done["result"]["output"]] == [
        "function_call",
        "function_call_output",
        "message",
    ]
    late = api.post(
        f"/v1/jobs/{job['id']}/tool_outputs",
        json={"user_id": user, "tool_outputs": [{"call_id": call["call_id"], "output": "again"}]},
    )
    assert late.status_code == 409


def test_hosted_tools_pass_through_to_the_upstream(api: httpx.Client) -> None:
    user = new_user()
    job = respond(api, user, input="Latest news about Celery", tools=[{"type": "web_search"}])
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed", done
    assert items_of(done, "web_search_call")
    assert "offline" in done["result"]["output_text"]

    mcp = {
        "type": "mcp",
        "server_label": "docs",
        "server_url": MCP_SERVER,
        "require_approval": "never",
    }
    job = respond(api, user, input="Ask the docs server", tools=[mcp])
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed", done
    assert items_of(done, "mcp_list_tools")


def test_tools_the_gateway_does_not_allow_are_refused_before_queueing(api: httpx.Client) -> None:
    user = new_user()
    for tools, code, param in [
        (
            [{"type": "mcp", "server_label": "evil", "server_url": "https://evil.example/mcp"}],
            "mcp_server_not_allowed",
            "tools.0.server_url",
        ),
        (["get_stock_price"], "unknown_tool", "tools.0"),
        ([{**CALLER_TOOL, "name": "get_weather"}], "tool_name_taken", "tools.0"),
    ]:
        response = api.post("/v1/responses", json={"user_id": user, "input": "hi", "tools": tools})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["param"] == param
    assert api.get("/v1/jobs", params={"user_id": user}).json()["data"] == []


def test_unknown_fields_of_a_responses_request_are_refused(api: httpx.Client) -> None:
    response = api.post(
        "/v1/responses", json={"user_id": new_user(), "input": "hi", "frequency_penalty": 2}
    )
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "frequency_penalty"


SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "array", "items": {"$ref": "#/$defs/day"}, "minItems": 1, "maxItems": 3},
        "unit": {"enum": ["C", "F"]},
    },
    "required": ["city", "days", "unit"],
    "additionalProperties": False,
    "$defs": {
        "day": {
            "type": "object",
            "properties": {"high": {"type": "number", "minimum": -50, "maximum": 60}},
            "required": ["high"],
            "additionalProperties": False,
        }
    },
}


def test_structured_output_is_parsed_and_valid(api: httpx.Client) -> None:
    user = new_user()
    text = {"format": {"type": "json_schema", "name": "forecast", "schema": SCHEMA, "strict": True}}
    job = respond(api, user, input="Forecast for Paris", text=text)
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed", done
    parsed = done["result"]["parsed"]
    assert parsed == json.loads(done["result"]["output_text"])
    assert set(parsed) == {"city", "days", "unit"} and parsed["unit"] in ("C", "F")
    bad = api.post(
        "/v1/responses",
        json={
            "user_id": user,
            "input": "x",
            "text": {"format": {"type": "json_schema", "name": "b", "schema": {"type": 5}}},
        },
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_json_schema"
