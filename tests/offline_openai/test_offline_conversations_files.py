"""The /v1/conversations and /v1/files routes."""

from __future__ import annotations

import io

import openai
import pytest
from openai import OpenAI


def test_conversation_lifecycle(client: OpenAI) -> None:
    created = client.conversations.create(
        metadata={"topic": "demo"},
        items=[{"type": "message", "role": "user", "content": "hello"}],
    )
    assert created.id.startswith("conv_") and created.metadata == {"topic": "demo"}
    assert client.conversations.retrieve(created.id).id == created.id

    updated = client.conversations.update(created.id, metadata={"topic": "changed"})
    assert updated.metadata == {"topic": "changed"}

    deleted = client.conversations.delete(created.id)
    assert deleted.deleted is True and deleted.id == created.id
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(created.id)


def test_conversation_items_can_be_added_listed_read_and_deleted(client: OpenAI) -> None:
    conversation = client.conversations.create()
    added = client.conversations.items.create(
        conversation.id,
        items=[
            {"type": "message", "role": "user", "content": "one"},
            {"type": "message", "role": "assistant", "content": "two"},
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "three"}],
            },
        ],
    )
    ids = [item.id for item in added.data]
    assert len(ids) == 3

    newest = client.conversations.items.list(conversation.id, limit=2)
    assert [item.id for item in newest.data] == ids[::-1][:2]
    assert newest.has_more is True
    every = [
        item.id for item in client.conversations.items.list(conversation.id, limit=1, order="asc")
    ]
    assert every == ids  # the SDK follows the cursor

    item = client.conversations.items.retrieve(ids[1], conversation_id=conversation.id)
    assert item.type == "message" and item.role == "assistant"

    after_delete = client.conversations.items.delete(ids[1], conversation_id=conversation.id)
    assert after_delete.id == conversation.id
    remaining = [i.id for i in client.conversations.items.list(conversation.id, order="asc")]
    assert remaining == [ids[0], ids[2]]
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(ids[1], conversation_id=conversation.id)


def test_unknown_conversation_is_rejected(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="gpt-5-nano", input="hi", conversation="conv_missing")


def test_file_lifecycle(client: OpenAI) -> None:
    uploaded = client.files.create(
        file=("notes.txt", io.BytesIO(b"hello file"), "text/plain"), purpose="user_data"
    )
    assert uploaded.id.startswith("file-")
    assert (uploaded.filename, uploaded.bytes, uploaded.purpose) == ("notes.txt", 10, "user_data")

    assert client.files.retrieve(uploaded.id).filename == "notes.txt"
    assert client.files.content(uploaded.id).read() == b"hello file"
    assert [f.id for f in client.files.list()] == [uploaded.id]
    assert list(client.files.list(purpose="batch")) == []

    deleted = client.files.delete(uploaded.id)
    assert deleted.deleted is True and deleted.id == uploaded.id
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)


def test_file_upload_needs_a_known_purpose(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("a.txt", io.BytesIO(b"a"), "text/plain"), purpose="nonsense")
