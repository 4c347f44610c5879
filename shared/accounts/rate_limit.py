"""Per-user rate limit on submits (RATE_LIMIT, e.g. 600/minute), counted in Redis."""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from shared.core.errors import RateLimited
from shared.core.redis_client import get_redis
from shared.core.settings import get_settings

log = logging.getLogger(__name__)


def check_rate_limit(user_id: str) -> None:
    """Count one submit; 429 with Retry-After once the user's window is full.

    A fixed window per user: one INCR and, for the window's first request, one EXPIRE. While
    Redis is away the limit is not enforced: a submit still lands in the database, and refusing
    every caller because the counter is gone would make a Redis blip an outage.
    """
    limit, window = get_settings().rate_limit
    now = time.time()
    current = int(now // window)
    key = f"gw:rate:{user_id}:{current}"
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window + 1, nx=True)
        count = int(pipe.execute()[0])
    except RedisError as exc:
        log.warning("rate limit not checked: redis unavailable (%s)", exc)
        return
    if count > limit:
        retry_after = max(1, int((current + 1) * window - now) + 1)
        raise RateLimited(
            "rate_limited",
            f"More than {get_settings().RATE_LIMIT} submits; retry after {retry_after} s.",
            retry_after,
        )
