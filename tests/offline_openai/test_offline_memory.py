"""The model answers from the real history: conversations and previous_response_id chains."""

from __future__ import annotations

import openai
import pytest
from offline_helpers import MODEL
from openai import OpenAI


def test_conversation_remembers_turns_and_name(client: OpenAI) -> None:
    conversation = client.conversations.create()
    first = client.responses.create(
        model=MODEL, input="Hi, my name is Ada.", conversation=conversation.id
    )
    second = client.responses.create(
        model=MODEL, input="What is my name?", conversation={"id": conversation.id}
    )

    assert first.output_text.startswith("[offline turn 1] ")
    assert second.output_text == "[offline turn 2] Your name is Ada."
    assert second.conversation is not None and second.conversation.id == conversation.id


def test_conversation_holds_inputs_and_outputs_in_order(client: OpenAI) -> None:
    conversation = client.conversations.create()
    client.responses.create(model=MODEL, input="one", conversation=conversation.id)
    client.responses.create(model=MODEL, input="two", conversation=conversation.id)

    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [(item.type, item.role) for item in items] == [
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    assert items[3].content[0].text == "[offline turn 2] You said: two"


def test_previous_response_chain_remembers_turns_and_name(client: OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="my name is Grace!")
    second = client.responses.create(
        model=MODEL, input="nice weather", previous_response_id=first.id
    )
    third = client.responses.create(
        model=MODEL, input="Do you remember my name?", previous_response_id=second.id
    )

    assert second.output_text.startswith("[offline turn 2] ")
    assert third.output_text == "[offline turn 3] Your name is Grace."
    assert third.previous_response_id == second.id


def test_without_history_every_request_is_turn_one(client: OpenAI) -> None:
    client.responses.create(model=MODEL, input="my name is Linus")
    alone = client.responses.create(model=MODEL, input="What is my name?")
    assert alone.output_text == "[offline turn 1] I don't know your name yet."


def test_local_history_sent_as_input_items_counts_too(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "My name is Barbara."},
            {"role": "assistant", "content": "[offline turn 1] Nice to meet you, Barbara."},
            {"role": "user", "content": "what's my name"},
        ],
    )
    assert response.output_text == "[offline turn 2] Your name is Barbara."


def test_latest_name_wins(client: OpenAI) -> None:
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "my name is Old"}]
    )
    client.responses.create(
        model=MODEL, input="Actually my name is New.", conversation=conversation.id
    )
    answer = client.responses.create(
        model=MODEL, input="What is my name?", conversation=conversation.id
    )
    assert answer.output_text == "[offline turn 3] Your name is New."


def test_item_references_resolve_to_stored_items(client: OpenAI) -> None:
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "my name is Ref"}]
    )
    [item] = client.conversations.items.list(conversation.id).data
    response = client.responses.create(
        model=MODEL,
        input=[{"type": "item_reference", "id": item.id}, {"role": "user", "content": "my name?"}],
    )
    assert response.output_text == "[offline turn 2] Your name is Ref."


def test_conversation_and_previous_response_are_exclusive(client: OpenAI) -> None:
    conversation = client.conversations.create()
    first = client.responses.create(model=MODEL, input="hi")
    with pytest.raises(openai.BadRequestError):
        client.responses.create(
            model=MODEL, input="x", conversation=conversation.id, previous_response_id=first.id
        )
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input="x", previous_response_id="resp_missing")
    assert caught.value.code == "previous_response_not_found"
