"""Conversation metadata: a conversation's metadata is updated, then read back."""

from __future__ import annotations

from _gateway import connect, finished

with connect() as gateway:
    job = finished(gateway.chat("Let's plan a trip to Lisbon."))
    conversation = job.conversation_id or ""
    before = gateway.conversations.get(conversation)["metadata"]
    print(f"conversation {conversation} metadata: {before}")
    gateway.conversations.update(conversation, {"topic": "travel", "destination": "Lisbon"})
    stored = gateway.conversations.get(conversation)
    print(f"updated metadata: {stored['metadata']}")
