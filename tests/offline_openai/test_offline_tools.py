"""Function tools are called when the message asks for what they do; hosted tools pass through."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from offline_helpers import MODEL, calls_of
from openai import OpenAI

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}
CLOCK = {
    "type": "function",
    "name": "current_time",
    "description": "Tell the time in a timezone",
    "parameters": {
        "type": "object",
        "properties": {"timezone": {"type": "string"}},
        "required": ["timezone"],
        "additionalProperties": False,
    },
}
CALCULATOR = {
    "type": "function",
    "name": "calculator",
    "description": "Evaluate arithmetic",
    "parameters": {
        "type": "object",
        "properties": {
            "expression": {"type": "string"},
            "precision": {"type": "integer", "minimum": 0},
        },
        "required": ["expression", "precision"],
        "additionalProperties": False,
    },
}
TOOLS: list[Any] = [WEATHER, CLOCK, CALCULATOR]


def test_weather_question_calls_the_weather_tool_with_the_city(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL, input="What's the weather in Paris?", tools=TOOLS
    )

    [call] = calls_of(response)
    arguments = json.loads(call.arguments)
    assert call.name == "get_weather"
    assert call.call_id.startswith("call_")
    assert call.status == "completed"
    assert arguments["city"] == "Paris"
    jsonschema.validate(arguments, WEATHER["parameters"])
    assert response.output_text == ""


def test_time_question_calls_the_clock_with_a_zone(client: OpenAI) -> None:
    named = client.responses.create(
        model=MODEL, input="What time is it in Asia/Tokyo?", tools=TOOLS
    )
    unnamed = client.responses.create(model=MODEL, input="what time is it?", tools=TOOLS)

    assert json.loads(calls_of(named)[0].arguments) == {"timezone": "Asia/Tokyo"}
    assert json.loads(calls_of(unnamed)[0].arguments) == {"timezone": "UTC"}


def test_arithmetic_calls_the_calculator_with_the_expression(client: OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="What is 12 * (3 + 4)?", tools=TOOLS)

    [call] = calls_of(response)
    arguments = json.loads(call.arguments)
    assert call.name == "calculator"
    assert arguments["expression"] == "12 * (3 + 4)"
    jsonschema.validate(arguments, CALCULATOR["parameters"])


def test_several_requests_in_one_message_make_parallel_calls(client: OpenAI) -> None:
    text = "What's the weather in Rome and what time is it there?"
    both = client.responses.create(model=MODEL, input=text, tools=TOOLS)
    one = client.responses.create(model=MODEL, input=text, tools=TOOLS, parallel_tool_calls=False)

    assert [call.name for call in calls_of(both)] == ["get_weather", "current_time"]
    assert len({call.call_id for call in calls_of(both)}) == 2
    assert [call.name for call in calls_of(one)] == ["get_weather"]


def test_function_outputs_are_quoted_and_not_called_again(client: OpenAI) -> None:
    asked = client.responses.create(model=MODEL, input="Weather in Oslo, please", tools=TOOLS)
    [call] = calls_of(asked)
    answered = client.responses.create(
        model=MODEL,
        previous_response_id=asked.id,
        tools=TOOLS,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": 3}'}],
    )

    assert calls_of(answered) == []
    assert answered.output_text == '[offline turn 1] The get_weather tool says: {"temp": 3}'


def test_tool_round_trip_with_local_history(client: OpenAI) -> None:
    asked = client.responses.create(model=MODEL, input="What is 2+2?", tools=TOOLS)
    [call] = calls_of(asked)
    history: list[Any] = [
        {"role": "user", "content": "What is 2+2?"},
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": "4"},
    ]
    answered = client.responses.create(model=MODEL, input=history, tools=TOOLS)
    assert answered.output_text == "[offline turn 1] The calculator tool says: 4"


def test_tool_choice_controls_calls(client: OpenAI) -> None:
    none = client.responses.create(
        model=MODEL, input="weather in Paris?", tools=TOOLS, tool_choice="none"
    )
    required = client.responses.create(
        model=MODEL, input="hello", tools=TOOLS, tool_choice="required"
    )
    forced = client.responses.create(
        model=MODEL,
        input="hello",
        tools=TOOLS,
        tool_choice={"type": "function", "name": "calculator"},
    )

    assert calls_of(none) == [] and none.output_text.startswith("[offline turn 1] ")
    assert [call.name for call in calls_of(required)] == ["get_weather"]
    assert [call.name for call in calls_of(forced)] == ["calculator"]


def test_unrelated_messages_do_not_call_tools(client: OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="Tell me a joke", tools=TOOLS)
    assert calls_of(response) == []


def test_web_search_passes_through_as_an_offline_search(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL, input="latest news about cats", tools=[{"type": "web_search"}]
    )

    assert [item.type for item in response.output] == ["web_search_call", "message"]
    assert response.output[0].status == "completed"
    assert "offline web search: no results for" in response.output_text


def test_file_search_passes_through_without_results(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL,
        input="find the contract",
        tools=[{"type": "file_search", "vector_store_ids": ["vs_1"]}],
    )

    search = response.output[0]
    assert search.type == "file_search_call"
    assert search.results is None
    assert "offline file search" in response.output_text


def test_mcp_tools_say_the_server_was_not_contacted(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL,
        input="roll a die",
        tools=[
            {
                "type": "mcp",
                "server_label": "dice",
                "server_url": "https://dmcp.example.com/mcp",
                "allowed_tools": ["roll"],
                "require_approval": "never",
            }
        ],
    )

    kinds = [item.type for item in response.output]
    assert kinds == ["mcp_list_tools", "mcp_call", "message"]
    assert "did not contact" in (response.output[1].output or "")
    assert "'dice' was not contacted" in response.output_text
