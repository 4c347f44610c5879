"""Structured output: the reply must match a strict JSON schema; the parsed object is printed."""

from __future__ import annotations

from _gateway import connect, finished

CALENDAR_EVENT = {
    "type": "json_schema",
    "name": "calendar_event",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "date": {"type": "string"},
            "participants": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "date", "participants"],
        "additionalProperties": False,
    },
}

with connect() as gateway:
    job = gateway.respond(
        "Alice and Bob are going to a science fair on Friday.",
        instructions="Extract the event information.",
        text={"format": CALENDAR_EVENT},
    )
    result = finished(job).result or {}
    print(result["parsed"])
