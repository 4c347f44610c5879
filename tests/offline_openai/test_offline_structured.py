"""Structured output: the reply is a valid instance of the requested JSON schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from offline_helpers import MODEL
from openai import OpenAI
from pydantic import BaseModel

from offline_openai.schema_fill import fill

SCHEMAS: dict[str, dict[str, Any]] = {
    "flat_object": {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 3, "maxLength": 12},
            "count": {"type": "integer", "minimum": 5, "maximum": 9},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "done": {"type": "boolean"},
            "nothing": {"type": "null"},
        },
        "required": ["title", "count", "ratio", "done", "nothing"],
        "additionalProperties": False,
    },
    "arrays_and_enums": {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "string", "enum": ["red", "green", "blue"]},
                "minItems": 2,
                "maxItems": 3,
                "uniqueItems": True,
            },
            "kind": {"const": "event"},
            "level": {"enum": [3, "high", None]},
            "empty": {"type": "array", "items": {"type": "integer"}, "maxItems": 0},
        },
        "required": ["tags", "kind", "level", "empty"],
        "additionalProperties": False,
    },
    "numbers": {
        "type": "object",
        "properties": {
            "step": {"type": "integer", "minimum": 10, "maximum": 30, "multipleOf": 7},
            "price": {"type": "number", "minimum": 0.25, "multipleOf": 0.05},
            "negative": {"type": "integer", "exclusiveMaximum": -5},
            "either": {"oneOf": [{"type": "number"}, {"type": "integer"}]},
        },
        "required": ["step", "price", "negative", "either"],
        "additionalProperties": False,
    },
    "formats_and_unions": {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "email": {"type": "string", "format": "email"},
            "maybe": {"type": ["string", "null"]},
            "choice": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
        "required": ["when", "day", "email", "maybe", "choice", "code"],
        "additionalProperties": False,
    },
    "defs_and_refs": {
        "type": "object",
        "properties": {
            "home": {"$ref": "#/$defs/address"},
            "work": {"$ref": "#/definitions/address_v7"},
            "tree": {"$ref": "#/$defs/node"},
        },
        "required": ["home", "work", "tree"],
        "additionalProperties": False,
        "$defs": {
            "address": {
                "type": "object",
                "properties": {
                    "street": {"type": "string"},
                    "zip": {"type": "string", "maxLength": 5},
                },
                "required": ["street", "zip"],
                "additionalProperties": False,
            },
            "node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                    "parent": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
                },
                "required": ["value", "children", "parent"],
                "additionalProperties": False,
            },
        },
        "definitions": {
            "address_v7": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            }
        },
    },
    "top_level_array": {
        "type": "array",
        "items": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
        "minItems": 2,
    },
    "all_of": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer", "minimum": 3}}, "required": ["b"]},
        ]
    },
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_structured_output_is_a_valid_instance(client: OpenAI, name: str) -> None:
    schema = SCHEMAS[name]
    response = client.responses.create(
        model=MODEL,
        input="Fill the form",
        text={"format": {"type": "json_schema", "name": name, "schema": schema, "strict": True}},
    )

    document = json.loads(response.output_text)
    jsonschema.Draft202012Validator(schema).validate(document)
    assert response.text.format is not None and response.text.format.type == "json_schema"


def test_free_text_fields_carry_the_reply(client: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    response = client.responses.create(
        model=MODEL,
        input="ping",
        text={
            "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}
        },
    )
    assert json.loads(response.output_text) == {"answer": "[offline turn 1] You said: ping"}


class Forecast(BaseModel):
    city: str
    high_celsius: int
    sunny: bool
    tags: list[str]


def test_sdk_parse_with_a_pydantic_model(client: OpenAI) -> None:
    parsed = client.responses.parse(model=MODEL, input="Forecast for Lisbon", text_format=Forecast)
    assert isinstance(parsed.output_parsed, Forecast)


def test_json_object_format_returns_a_json_object(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL, input="hi", text={"format": {"type": "json_object"}}
    )
    assert json.loads(response.output_text) == {"reply": "[offline turn 1] You said: hi"}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_fill_is_deterministic(name: str) -> None:
    assert fill(SCHEMAS[name], text="x") == fill(SCHEMAS[name], text="x")
