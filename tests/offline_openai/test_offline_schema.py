"""Every body and stream event of a representative session validates against OpenAI's OpenAPI."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import openai
import pytest
from offline_helpers import LONG_INPUT, MODEL, PROJECT_ROOT, parse_sse, wait_until
from openai import OpenAI
from referencing import Registry
from referencing.jsonschema import DRAFT202012

OPENAPI_PATH = Path(
    os.environ.get(
        "OPENAI_OPENAPI_PATH",
        PROJECT_ROOT.parent / "shared" / "reference" / "openai-responses-openapi.json",
    )
)
DOC_URI = "urn:openai-openapi"

# (method, path pattern) → schema of a JSON success body
ROUTE_SCHEMAS = [
    ("POST", r"/v1/responses", "Response"),
    ("GET", r"/v1/responses/[^/]+", "Response"),
    ("POST", r"/v1/responses/[^/]+/cancel", "Response"),
    ("GET", r"/v1/responses/[^/]+/input_items", "ResponseItemList"),
    ("POST", r"/v1/conversations", "ConversationResource"),
    ("GET", r"/v1/conversations/[^/]+", "ConversationResource"),
    ("POST", r"/v1/conversations/[^/]+", "ConversationResource"),
    ("DELETE", r"/v1/conversations/[^/]+", "DeletedConversationResource"),
    ("GET", r"/v1/conversations/[^/]+/items", "ConversationItemList"),
    ("POST", r"/v1/conversations/[^/]+/items", "ConversationItemList"),
    ("GET", r"/v1/conversations/[^/]+/items/[^/]+", "ConversationItem"),
    ("DELETE", r"/v1/conversations/[^/]+/items/[^/]+", "ConversationResource"),
    ("POST", r"/v1/files", "OpenAIFile"),
    ("GET", r"/v1/files", "ListFilesResponse"),
    ("GET", r"/v1/files/[^/]+", "OpenAIFile"),
    ("DELETE", r"/v1/files/[^/]+", "DeleteFileResponse"),
]
UNTYPED_ROUTES = [("DELETE", r"/v1/responses/[^/]+"), ("GET", r"/v1/files/[^/]+/content")]


class RecordingTransport(httpx2.BaseTransport):
    """Reads every answer fully and keeps a copy, so the test sees exactly what was sent."""

    def __init__(self) -> None:
        self.inner = httpx2.HTTPTransport()
        self.exchanges: list[tuple[str, str, int, str, bytes]] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        answer = self.inner.handle_request(request)
        content = answer.read()
        answer.close()
        content_type = answer.headers.get("content-type", "")
        self.exchanges.append(
            (request.method, request.url.path, answer.status_code, content_type, content)
        )
        headers = [
            (name, value)
            for name, value in answer.headers.items()
            if name.lower() not in ("content-length", "transfer-encoding")
        ]
        return httpx2.Response(
            answer.status_code, headers=headers, content=content, request=request
        )


def load_openapi() -> dict[str, Any]:
    assert OPENAPI_PATH.exists(), f"reference OpenAPI document not found at {OPENAPI_PATH}"
    document: dict[str, Any] = json.loads(OPENAPI_PATH.read_text())
    # 2019-09's $recursiveRef is not a 2020-12 keyword; point it at the schema it means.
    text = json.dumps(document).replace(
        '{"$recursiveRef": "#"}', '{"$ref": "#/components/schemas/CompoundFilter"}'
    )
    return dict(json.loads(text))


class OpenApiValidator:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        registry = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(document))
        self.registry: Registry[Any] = registry
        self.event_schemas = self._event_schema_names()

    def _event_schema_names(self) -> dict[str, str]:
        schemas = self.document["components"]["schemas"]
        names = {}
        for option in schemas["ResponseStreamEvent"]["anyOf"]:
            name = option["$ref"].rsplit("/", 1)[-1]
            names[schemas[name]["properties"]["type"]["enum"][0]] = name
        return names

    def errors(self, schema_name: str, instance: Any) -> list[str]:
        schema = {"$ref": f"{DOC_URI}#/components/schemas/{schema_name}"}
        validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
        return [
            f"{schema_name} at {list(error.absolute_path)}: {error.message[:300]}"
            for error in validator.iter_errors(instance)
        ]

    def event_errors(self, event: dict[str, Any]) -> list[str]:
        specific = self.event_schemas.get(event.get("type", ""))
        if specific is None:
            return [f"unknown event type {event.get('type')!r}"]
        return self.errors(specific, event) + self.errors("ResponseStreamEvent", event)


def schema_for(method: str, path: str) -> str | None:
    for route_method, pattern, name in ROUTE_SCHEMAS:
        if method == route_method and re.fullmatch(pattern, path):
            return name
    return None


def run_representative_session(client: OpenAI, upstream: Any) -> None:
    weather: Any = {
        "type": "function",
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    }
    hosted: Any = [
        {"type": "web_search"},
        {"type": "web_search_preview"},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {
            "type": "mcp",
            "server_label": "dice",
            "server_url": "https://x.example/mcp",
            "allowed_tools": ["roll"],
        },
    ]
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["answer", "n"],
        "additionalProperties": False,
    }
    image = client.files.create(file=("cat.png", io.BytesIO(b"png"), "image/png"), purpose="vision")
    document = client.files.create(
        file=("doc.pdf", io.BytesIO(b"%PDF"), "application/pdf"), purpose="user_data"
    )
    client.files.retrieve(image.id)
    client.files.content(document.id)
    list(client.files.list())

    conversation = client.conversations.create(
        metadata={"k": "v"},
        items=[{"type": "message", "role": "developer", "content": "Be terse."}],
    )
    first = client.responses.create(
        model=MODEL,
        conversation=conversation.id,
        instructions="Be helpful.",
        metadata={"job_id": "job_schema"},
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "my name is Ada, look at these"},
                    {"type": "input_image", "image_url": "https://example.com/a.png"},
                    {"type": "input_image", "file_id": image.id},
                    {"type": "input_file", "file_id": document.id},
                    {"type": "input_file", "file_url": "https://example.com/b.pdf"},
                ],
            }
        ],
    )
    client.responses.create(model=MODEL, conversation=conversation.id, input="What is my name?")
    asked = client.responses.create(model=MODEL, input="weather in Paris?", tools=[weather])
    call = asked.output[0]
    answered = client.responses.create(
        model=MODEL,
        previous_response_id=asked.id,
        tools=[weather],
        tool_choice="auto",
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )
    client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "weather in Paris?"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "rain"},
            {"role": "assistant", "content": "It rains."},
        ],
    )
    client.responses.create(model=MODEL, input="search cats", tools=hosted)
    client.responses.create(
        model=MODEL,
        input="form",
        text={"format": {"type": "json_schema", "name": "form", "schema": schema, "strict": True}},
    )
    client.responses.create(model=MODEL, input=LONG_INPUT, max_output_tokens=16)
    client.responses.create(model="failing-model", input="boom")
    for kwargs in (
        {"input": "stream text"},
        {"input": "weather in Rome?", "tools": [weather]},
        {"input": "search dogs", "tools": hosted},
        {"input": LONG_INPUT, "max_output_tokens": 16},
        {"input": "x", "model": "failing-model"},
    ):
        list(client.responses.create(**{"model": MODEL, **kwargs, "stream": True}))

    background = client.responses.create(model=MODEL, input="background", background=True)
    wait_until(lambda: client.responses.retrieve(background.id).status == "completed")
    list(client.responses.retrieve(background.id, stream=True, starting_after=2))
    list(client.responses.create(model=MODEL, input="bg stream", background=True, stream=True))
    upstream.configure(latency_ms=2000)
    slow = client.responses.create(model=MODEL, input="slow", background=True)
    client.responses.cancel(slow.id)
    upstream.configure(latency_ms=0)

    client.responses.input_items.list(first.id)
    client.responses.input_items.list(answered.id)
    client.responses.retrieve(first.id)
    client.responses.delete(asked.id)

    items = client.conversations.items.list(conversation.id)
    client.conversations.items.retrieve(items.data[0].id, conversation_id=conversation.id)
    client.conversations.items.create(
        conversation.id,
        items=[
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "added"}],
            },
            {"type": "function_call_output", "call_id": "call_9", "output": "done"},
        ],
    )
    client.conversations.items.delete(items.data[0].id, conversation_id=conversation.id)
    client.conversations.retrieve(conversation.id)
    client.conversations.update(conversation.id, metadata={"k": "w"})
    client.conversations.delete(conversation.id)
    client.files.delete(image.id)

    for call_error in (
        lambda: client.responses.retrieve("resp_missing"),
        lambda: client.responses.create(model="invalid-model", input="x"),
        lambda: client.conversations.retrieve("conv_missing"),
    ):
        with pytest.raises(openai.APIStatusError):
            call_error()
    upstream.configure(faults={"429": 1.0})
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model=MODEL, input="x")
    upstream.configure(faults={"429": 0.0, "500": 1.0})
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model=MODEL, input="x")


def test_every_body_and_event_matches_the_openapi_schemas(upstream: Any) -> None:
    validator = OpenApiValidator(load_openapi())
    transport = RecordingTransport()
    client = upstream.client(http_client=httpx2.Client(transport=transport))
    run_representative_session(client, upstream)

    problems: list[str] = []
    seen_schemas: set[str] = set()
    seen_events: set[str] = set()
    for method, path, status, content_type, content in transport.exchanges:
        where = f"{method} {path} -> {status}"
        if status >= 400:
            problems += [
                f"{where}: {e}" for e in validator.errors("ErrorResponse", json.loads(content))
            ]
            continue
        if content_type.startswith("text/event-stream"):
            for name, event in parse_sse(content.decode()):
                seen_events.add(name)
                assert name == event["type"]
                problems += [f"{where} {name}: {e}" for e in validator.event_errors(event)]
            continue
        name = schema_for(method, path)
        if name is None:
            assert any(m == method and re.fullmatch(p, path) for m, p in UNTYPED_ROUTES), where
            continue
        seen_schemas.add(name)
        problems += [f"{where}: {e}" for e in validator.errors(name, json.loads(content))]

    assert problems == []
    assert seen_schemas == {name for _, _, name in ROUTE_SCHEMAS}
    assert {
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.web_search_call.completed",
        "response.file_search_call.completed",
        "response.mcp_list_tools.failed",
        "response.mcp_call.completed",
        "response.completed",
        "response.incomplete",
        "response.failed",
    } <= seen_events
