"""The /v1/responses routes answer like OpenAI's: create, retrieve, delete, input items, errors."""

from __future__ import annotations

import io
from typing import Any

import httpx
import openai
import pytest
from offline_helpers import LONG_INPUT, MODEL
from openai import OpenAI


def test_create_answers_with_turn_prefix_and_word_usage(client: OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="hello there friend")

    assert response.status == "completed"
    assert response.object == "response"
    assert response.id.startswith("resp_")
    assert response.output_text == "[offline turn 1] You said: hello there friend"
    assert response.output[0].type == "message"
    assert response.usage is not None
    assert response.usage.input_tokens == 3
    assert response.usage.output_tokens == len(response.output_text.split())
    assert response.usage.total_tokens == 3 + response.usage.output_tokens
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == 0


def test_reply_is_deterministic(client: OpenAI) -> None:
    texts = {client.responses.create(model=MODEL, input="same words").output_text for _ in range(3)}
    assert texts == {"[offline turn 1] You said: same words"}


def test_long_messages_are_echoed_briefly(client: OpenAI) -> None:
    text = " ".join(f"word{i}" for i in range(40))
    reply = client.responses.create(model=MODEL, input=text).output_text
    assert len(reply.split()) < 20


def test_request_fields_are_echoed(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL,
        input="hi",
        instructions="Be brief.",
        metadata={"job_id": "job_1", "user": "u1"},
        temperature=0.2,
        max_output_tokens=50,
        reasoning={"effort": "low"},
    )
    assert response.instructions == "Be brief."
    assert response.metadata == {"job_id": "job_1", "user": "u1"}
    assert response.temperature == 0.2
    assert response.max_output_tokens == 50
    assert response.reasoning is not None and response.reasoning.effort == "low"
    assert response.model == MODEL


def test_retrieve_returns_the_stored_response(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="keep me")
    fetched = client.responses.retrieve(created.id)
    assert fetched.id == created.id
    assert fetched.output_text == created.output_text
    assert fetched.status == "completed"


def test_delete_forgets_the_response(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="forget me")
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_unknown_response_is_404_in_openai_error_shape(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve("resp_missing")
    assert caught.value.body is not None
    assert caught.value.type == "invalid_request_error"
    assert "resp_missing" in caught.value.message


def test_store_false_responses_cannot_be_retrieved(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="ephemeral", store=False)
    assert created.status == "completed"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_input_items_list_the_request_input(client: OpenAI) -> None:
    created = client.responses.create(
        model=MODEL,
        input=[
            {"role": "developer", "content": "Answer shortly."},
            {"role": "user", "content": [{"type": "input_text", "text": "first"}]},
            {"role": "user", "content": "second"},
        ],
    )
    newest_first = client.responses.input_items.list(created.id)
    texts = [item.content[0].text for item in newest_first.data]
    assert texts == ["second", "first", "Answer shortly."]
    oldest_first = client.responses.input_items.list(created.id, order="asc", limit=2)
    assert [item.content[0].text for item in oldest_first.data] == ["Answer shortly.", "first"]
    assert oldest_first.has_more is True
    assert created.output_text.startswith("[offline turn 2] ")


def test_model_names_starting_invalid_are_rejected(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="invalid-model", input="hi")
    assert caught.value.code == "model_not_found"
    assert caught.value.type == "invalid_request_error"
    assert caught.value.param == "model"


def test_malformed_items_are_rejected(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model=MODEL, input=[{"role": "wizard", "content": "hi"}])


def test_requests_without_bearer_token_get_401(upstream: Any) -> None:
    answer = httpx.post(f"{upstream.base_url}/responses", json={"model": MODEL, "input": "hi"})
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}


def test_max_output_tokens_makes_the_response_incomplete(client: OpenAI) -> None:
    response = client.responses.create(model=MODEL, input=LONG_INPUT, max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == (
        "[offline turn 1] You said: one two three four five six seven eight nine ten eleven"
    )
    assert response.usage is not None and response.usage.output_tokens == 16


def test_failing_models_fail(client: OpenAI) -> None:
    response = client.responses.create(model="failing-model", input="hi")
    assert response.status == "failed"
    assert response.error is not None and response.error.code == "server_error"


def test_images_and_files_are_acknowledged_by_name(client: OpenAI) -> None:
    uploaded = client.files.create(
        file=("report.pdf", io.BytesIO(b"%PDF-1.4"), "application/pdf"), purpose="user_data"
    )
    picture = client.files.create(
        file=("cat.png", io.BytesIO(b"png"), "image/png"), purpose="vision"
    )
    response = client.responses.create(
        model=MODEL,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Describe these"},
                    {"type": "input_image", "image_url": "https://example.com/dog.jpg"},
                    {"type": "input_image", "file_id": picture.id, "detail": "auto"},
                    {"type": "input_file", "file_id": uploaded.id},
                    {"type": "input_file", "file_url": "https://example.com/paper.pdf"},
                    {
                        "type": "input_file",
                        "filename": "notes.txt",
                        "file_data": "data:text/plain;base64,aGk=",
                    },
                ],
            }
        ],
    )
    text = response.output_text
    assert "I see the image https://example.com/dog.jpg." in text
    assert "I see the image cat.png." in text
    assert "I read the file report.pdf." in text
    assert "I read the file https://example.com/paper.pdf." in text
    assert "I read the file notes.txt." in text
    assert "You said: Describe these" in text
