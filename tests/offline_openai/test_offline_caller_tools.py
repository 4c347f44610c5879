"""A caller's own function tool is called when the message shares a content word with its name
or description, with arguments filled from its schema and the message."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from offline_helpers import MODEL, calls_of
from openai import OpenAI

LOOKUP_ORDER = {
    "type": "function",
    "name": "lookup_order",
    "description": "Look up an order status by order number",
    "parameters": {
        "type": "object",
        "properties": {"order_number": {"type": "string"}},
        "required": ["order_number"],
        "additionalProperties": False,
    },
    "strict": True,
}
REFUND = {
    "type": "function",
    "name": "issueRefund",
    "description": "Refund a customer's payment",
    "parameters": {
        "type": "object",
        "properties": {"payment_id": {"type": "integer"}, "reason": {"type": "string"}},
        "required": ["payment_id", "reason"],
        "additionalProperties": False,
    },
}
TOOLS: list[Any] = [LOOKUP_ORDER, REFUND]


def test_a_shared_content_word_calls_the_callers_tool(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL, input="Look up the status of order 1234", tools=TOOLS
    )

    [call] = calls_of(response)
    assert call.name == "lookup_order"
    assert json.loads(call.arguments) == {"order_number": "1234"}
    jsonschema.validate(json.loads(call.arguments), LOOKUP_ORDER["parameters"])


def test_words_of_a_camel_case_name_and_plurals_match(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL, input="Please issue refunds for payment 77", tools=TOOLS
    )

    [call] = calls_of(response)
    arguments = json.loads(call.arguments)
    assert call.name == "issueRefund" and arguments["payment_id"] == 77
    jsonschema.validate(arguments, REFUND["parameters"])


def test_only_stop_words_in_common_call_nothing(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL, input="Can you look at this for me?", tools=TOOLS
    )
    assert calls_of(response) == []
    assert response.output_text.startswith("[offline turn 1]")


def test_tool_choice_keeps_its_meaning_for_callers_tools(client: OpenAI) -> None:
    none = client.responses.create(
        model=MODEL, input="Look up order 1234", tools=TOOLS, tool_choice="none"
    )
    named = client.responses.create(
        model=MODEL,
        input="Look up order 1234",
        tools=TOOLS,
        tool_choice={"type": "function", "name": "issueRefund"},
    )
    required = client.responses.create(
        model=MODEL, input="Tell me a joke", tools=TOOLS, tool_choice="required"
    )

    assert calls_of(none) == []
    assert [call.name for call in calls_of(named)] == ["issueRefund"]
    assert [call.name for call in calls_of(required)] == ["lookup_order"]


def test_an_intent_match_wins_over_a_shared_word(client: OpenAI) -> None:
    weather = {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    city_facts = {
        "type": "function",
        "name": "city_facts",
        "description": "Facts about a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    response = client.responses.create(
        model=MODEL, input="What's the weather in the city of Paris?", tools=[city_facts, weather]
    )
    assert [call.name for call in calls_of(response)] == ["get_weather"]
