"""A job's events as Server-Sent Events: replayed from the start or after Last-Event-ID, live
until the terminal status, and synthesized from the database once Redis no longer has them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from redis.exceptions import RedisError

from shared.core.errors import MalformedRequest
from shared.jobs import events, states
from shared.jobs.queries import job_status, load_job

EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
HEARTBEAT_MS = 15_000
# A status event goes out right after its change commits: a reader that sees the change first
# waits this long for the event (and its id) before answering from the database.
STATUS_EVENT_GRACE_MS = 250


def sse(event: str, data: dict[str, Any], event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


def job_events(user_id: str, job_id: str, last_event_id: str | None) -> Iterator[str]:
    """Checks access now (so a stranger gets 404, not an empty stream), then streams."""
    if last_event_id is not None and not EVENT_ID.match(last_event_id):
        raise MalformedRequest("invalid_last_event_id", "Last-Event-ID is not an event id here.")
    job_status(user_id, job_id)
    return _stream(user_id, job_id, last_event_id or "0-0")


def _stream(user_id: str, job_id: str, cursor: str) -> Iterator[str]:
    while True:
        status = job_status(user_id, job_id)
        try:
            block = STATUS_EVENT_GRACE_MS if status in states.TERMINAL else HEARTBEAT_MS
            entries = events.read(job_id, cursor, block_ms=block)
        except RedisError:
            entries = []
        for event_id, name, data in entries:
            cursor = event_id
            yield sse(name, data, event_id)
            if name == "status" and data.get("status") in states.TERMINAL:
                return
        if entries:
            continue
        job = load_job(user_id, job_id)
        if job.status in states.TERMINAL:
            # Redis lost or expired the stream's end: the database still knows how it ended.
            yield sse("status", {"status": job.status, "error": job.error})
            return
        yield ": keep-alive\n\n"
