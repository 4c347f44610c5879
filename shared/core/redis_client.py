"""Redis clients with timeouts on every call: nothing waits on a Redis that is gone."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis

from shared.core.settings import get_settings

# Long polls block in XREAD for up to 30 s; their client allows that plus a margin.
LONG_POLL_SOCKET_TIMEOUT = 40.0


@lru_cache(maxsize=8)
def redis_for(url: str, socket_timeout: float = 2.0) -> Redis:
    return Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=1.0,
        health_check_interval=15,
        decode_responses=True,
        max_connections=500,
    )


def get_redis() -> Redis:
    return redis_for(get_settings().REDIS_URL)


def get_long_poll_redis() -> Redis:
    return redis_for(get_settings().REDIS_URL, LONG_POLL_SOCKET_TIMEOUT)
