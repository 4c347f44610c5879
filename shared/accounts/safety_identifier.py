"""OpenAI's `safety_identifier` for a user: a keyed hash of the gateway's user id, so the
upstream's abuse reports point at one user of a shared key without learning who it is."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

from shared.core.redis_client import get_redis
from shared.core.settings import get_settings

KEY_REDIS_KEY = "gw:safety-identifier-key"

_lock = threading.Lock()
_key: bytes | None = None


def safety_identifier(user_id: str) -> str:
    """64 hex characters (OpenAI's limit), the same for every job of one user."""
    return hmac.new(_hash_key(), user_id.encode(), hashlib.sha256).hexdigest()


def _hash_key() -> bytes:
    global _key
    with _lock:
        if _key is None:
            _key = get_settings().SAFETY_IDENTIFIER_KEY.encode() or _shared_random_key()
        return _key


def _shared_random_key() -> bytes:
    """A key made by whichever worker needs one first and kept in Redis for every worker."""
    made = secrets.token_hex(32)
    kept = get_redis().set(KEY_REDIS_KEY, made, nx=True, get=True)  # None: ours was stored
    return str(kept or made).encode()
