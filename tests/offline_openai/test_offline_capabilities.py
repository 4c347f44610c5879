"""Capabilities switched off make the upstream answer like LiteLLM, vLLM or Ollama do."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from offline_helpers import MODEL, start_upstream, stop_upstream
from openai import OpenAI


def test_without_conversations_every_conversation_route_is_404(
    upstream: Any, client: OpenAI
) -> None:
    conversation = client.conversations.create()
    upstream.configure(capabilities={"conversations": False})

    with pytest.raises(openai.NotFoundError):
        client.conversations.create()
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conversation.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list(conversation.id)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input="hi", conversation=conversation.id)
    assert caught.value.param == "conversation"


def test_without_retrieve_get_and_cancel_are_500(upstream: Any, client: OpenAI) -> None:
    upstream.configure(capabilities={"retrieve": False})
    created = client.responses.create(model=MODEL, input="hi", background=True)

    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.retrieve(created.id)
    assert caught.value.message.endswith("retrieve not supported")
    with pytest.raises(openai.InternalServerError):
        client.responses.cancel(created.id)


def test_without_background_the_call_completes_synchronously(upstream: Any, client: OpenAI) -> None:
    upstream.configure(capabilities={"background": False}, latency_ms=150)
    created = client.responses.create(model=MODEL, input="right now", background=True)

    assert created.status == "completed"
    assert created.background is False
    assert created.output_text == "[offline turn 1] You said: right now"


def test_without_background_a_streamed_call_streams_live(upstream: Any, client: OpenAI) -> None:
    upstream.configure(capabilities={"background": False})
    events = list(client.responses.create(model=MODEL, input="s", background=True, stream=True))
    assert events[-1].type == "response.completed"
    assert events[-1].response.background is False


def test_without_previous_response_the_parameter_is_rejected(upstream: Any, client: OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="hi")
    upstream.configure(capabilities={"previous_response": False})
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input="again", previous_response_id=first.id)
    assert caught.value.param == "previous_response_id"


def test_capabilities_from_the_environment(tmp_path: Any) -> None:
    process, url = start_upstream(
        {"OFFLINE_OPENAI_CAPABILITIES": "retrieve=false,background=0"}, tmp_path / "log"
    )
    try:
        client = OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0)
        created = client.responses.create(model=MODEL, input="hi", background=True)
        assert created.status == "completed"
        with pytest.raises(openai.InternalServerError):
            client.responses.retrieve(created.id)
    finally:
        stop_upstream(process)
