"""A two-turn conversation that remembers: the second message relies on the first."""

from __future__ import annotations

from _gateway import connect, finished

with connect() as gateway:
    first = finished(gateway.chat("Hello! My name is Ada."))
    print(f"conversation {first.conversation_id}")
    print(f"assistant: {first.output_text}")
    second = finished(gateway.chat("What is my name?", conversation_id=first.conversation_id))
    print(f"assistant: {second.output_text}")
