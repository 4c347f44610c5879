"""Public ids: a prefix, then a time-ordered part, so ids sort in creation order."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32, lower case: sorts as it counts


def _encode(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """`prefix_` + 12 chars of microseconds since the epoch + 10 random chars."""
    return f"{prefix}_{_encode(time.time_ns() // 1000, 12)}{_encode(secrets.randbits(50), 10)}"
