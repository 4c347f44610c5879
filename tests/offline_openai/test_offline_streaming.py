"""Streaming follows the official event sequence; background responses resume and cancel."""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest
from offline_helpers import LONG_INPUT, MODEL, parse_sse, wait_until
from openai import OpenAI

WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


def test_message_stream_follows_the_official_sequence(client: OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input="stream these words", stream=True))
    types = [event.type for event in events]

    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert len(deltas) == len(
        ["[offline", "turn", "1]", "You", "said:", "stream", "these", "words"]
    )
    done = next(event for event in events if event.type == "response.output_text.done")
    assert "".join(deltas) == done.text
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert events[-1].response.output_text == done.text


def test_sse_frames_name_their_event(upstream: Any) -> None:
    answer = httpx.post(
        f"{upstream.base_url}/responses",
        headers={"Authorization": "Bearer k"},
        json={"model": MODEL, "input": "hi", "stream": True},
    )
    assert answer.headers["content-type"].startswith("text/event-stream")
    for name, data in parse_sse(answer.text):
        assert name == data["type"]


def test_function_call_stream_sends_argument_deltas(client: OpenAI) -> None:
    events = list(
        client.responses.create(
            model=MODEL, input="weather in Paris?", tools=[WEATHER], stream=True
        )
    )
    types = [event.type for event in events]
    assert "response.function_call_arguments.delta" in types
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert done.arguments == '{"city": "Paris"}'
    assert done.name == "get_weather"
    added = next(e for e in events if e.type == "response.output_item.added")
    assert added.item.arguments == ""


def test_sdk_stream_helper_returns_the_final_response(client: OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="helper test") as stream:
        texts = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.output_text == "".join(texts) == "[offline turn 1] You said: helper test"


def test_incomplete_stream_ends_with_response_incomplete(client: OpenAI) -> None:
    events = list(
        client.responses.create(model=MODEL, input=LONG_INPUT, max_output_tokens=16, stream=True)
    )
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_latency_comes_after_in_progress(upstream: Any, client: OpenAI) -> None:
    upstream.configure(latency_ms=800)
    started = time.monotonic()  # before the request: the latency starts when the server has it
    stream = client.responses.create(model=MODEL, input="slow", stream=True)
    first_two = [next(stream).type, next(stream).type]
    early = time.monotonic() - started
    rest = list(stream)
    assert first_two == ["response.created", "response.in_progress"]
    assert early < 0.5  # well short of the latency, with room for a busy machine
    assert time.monotonic() - started >= 0.8
    assert rest[-1].type == "response.completed"


def test_background_response_completes_after_the_latency(upstream: Any, client: OpenAI) -> None:
    upstream.configure(latency_ms=800)
    started = time.monotonic()
    created = client.responses.create(model=MODEL, input="in the background", background=True)

    assert time.monotonic() - started < 0.5
    assert created.status == "queued" and created.background is True
    wait_until(lambda: client.responses.retrieve(created.id).status == "in_progress")
    wait_until(lambda: client.responses.retrieve(created.id).status == "completed")
    done = client.responses.retrieve(created.id)
    assert done.output_text == "[offline turn 1] You said: in the background"
    assert time.monotonic() - started >= 0.8


def test_background_stream_resumes_after_a_sequence_number(upstream: Any, client: OpenAI) -> None:
    upstream.configure(latency_ms=200)
    live = client.responses.create(model=MODEL, input="resume me", background=True, stream=True)
    first = next(live)
    second = next(live)
    live.close()
    assert (first.type, second.type) == ("response.created", "response.in_progress")

    resumed = list(client.responses.retrieve(first.response.id, stream=True, starting_after=1))
    assert [event.sequence_number for event in resumed] == list(range(2, 2 + len(resumed)))
    assert resumed[-1].type == "response.completed"

    replay = list(client.responses.retrieve(first.response.id, stream=True, starting_after=5))
    assert replay[0].sequence_number == 6
    assert replay[-1].sequence_number == resumed[-1].sequence_number


def test_sdk_stream_helper_resumes_a_background_response(upstream: Any, client: OpenAI) -> None:
    upstream.configure(latency_ms=100)
    created = client.responses.create(model=MODEL, input="helper resume", background=True)
    with client.responses.stream(response_id=created.id, starting_after=3) as stream:
        numbers = [event.sequence_number for event in stream]
        final = stream.get_final_response()
    assert numbers[0] == 4
    assert final.output_text == "[offline turn 1] You said: helper resume"


def test_cancel_stops_a_background_response(upstream: Any, client: OpenAI) -> None:
    upstream.configure(latency_ms=3000)
    created = client.responses.create(model=MODEL, input="cancel me", background=True)
    wait_until(lambda: client.responses.retrieve(created.id).status == "in_progress")

    cancelled = client.responses.cancel(created.id)
    assert cancelled.status == "cancelled"
    assert cancelled.usage is not None and cancelled.usage.output_tokens == 0
    assert cancelled.usage.input_tokens == 2
    assert client.responses.retrieve(created.id).status == "cancelled"
    events = list(client.responses.retrieve(created.id, stream=True))
    assert [event.type for event in events] == ["response.created", "response.in_progress"]


def test_only_background_responses_cancel_or_stream_on_retrieve(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="foreground")
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(created.id)
    with pytest.raises(openai.BadRequestError):
        list(client.responses.retrieve(created.id, stream=True))
