"""Per-job event streams in Redis: status changes and text deltas, read by polls and SSE."""

from __future__ import annotations

import json
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from shared.core.redis_client import get_long_poll_redis, get_redis
from shared.core.settings import get_settings
from shared.jobs.status_watch import STATUS_CHANNEL

MAX_EVENTS_PER_JOB = 20_000


def stream_key(job_id: str) -> str:
    return f"gw:job:{job_id}:events"


def publish(job_id: str, event: str, data: dict[str, Any], *, final: bool = False) -> None:
    """Append an event (a status event also wakes every process's waits on the job); best
    effort, since the database, not Redis, holds the job's truth."""
    try:
        pipe = get_redis().pipeline(transaction=False)
        key = stream_key(job_id)
        pipe.xadd(key, {"event": event, "data": json.dumps(data)}, maxlen=MAX_EVENTS_PER_JOB)
        pipe.expire(key, get_settings().EVENT_RETENTION_SECONDS)
        if event == "status":
            pipe.publish(STATUS_CHANNEL, job_id)
        pipe.execute()
    except RedisError:
        if final:
            raise


def partial_key(job_id: str) -> str:
    return f"gw:job:{job_id}:partial"


def upstream_sequence_key(job_id: str) -> str:
    return f"gw:job:{job_id}:upstream_seq"


def publish_delta(job_id: str, text: str, upstream_sequence: int) -> None:
    """A text delta: an event, the running text for polls, and how far the upstream got."""
    ttl = get_settings().EVENT_RETENTION_SECONDS
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.xadd(
            stream_key(job_id),
            {"event": "output_text.delta", "data": json.dumps({"delta": text})},
            maxlen=MAX_EVENTS_PER_JOB,
        )
        pipe.expire(stream_key(job_id), ttl)
        pipe.append(partial_key(job_id), text)
        pipe.expire(partial_key(job_id), ttl)
        pipe.set(upstream_sequence_key(job_id), upstream_sequence, ex=ttl)
        pipe.execute()
    except RedisError:
        pass  # polls then show less text for a while; the stored result is unaffected


def partial_text(job_id: str) -> str:
    try:
        return str(get_redis().get(partial_key(job_id)) or "")
    except RedisError:
        return ""


def upstream_sequence(job_id: str) -> int | None:
    try:
        value = get_redis().get(upstream_sequence_key(job_id))
    except RedisError:
        return None
    return int(value) if value is not None else None


def read(
    job_id: str, after: str = "0-0", block_ms: int | None = None, count: int = 500
) -> list[tuple[str, str, dict[str, Any]]]:
    """Events after `after` as (id, name, data); waits up to `block_ms` for new ones."""
    client: Redis = get_long_poll_redis() if block_ms else get_redis()
    answer: Any = client.xread({stream_key(job_id): after}, count=count, block=block_ms)
    events = []
    for _key, entries in answer or []:
        for event_id, fields in entries:
            events.append((event_id, fields["event"], json.loads(fields["data"])))
    return events
