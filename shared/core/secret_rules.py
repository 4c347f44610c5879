"""What a token that guards an exposed port must be: long, and no placeholder anyone could guess."""

from __future__ import annotations

import re

MIN_SECRET_LENGTH = 32
HOW_TO_MAKE_ONE = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
# Words people leave in place of a secret; a value made only of these (any case, any
# separators, a number at the end) is one everybody who read a README knows.
PLACEHOLDER_WORDS = (
    "changeme", "change", "me", "secret", "token", "password", "passwd", "pass", "test",
    "admin", "root", "default", "example", "replace", "replaceme", "your", "my", "here",
    "please", "todo", "dev", "demo", "local", "bootstrap", "service", "metrics", "gateway",
    "letmein", "qwerty", "abc", "xxx", "key", "api",
)  # fmt: skip
_PLACEHOLDER = re.compile(
    "(?:" + "|".join(sorted(PLACEHOLDER_WORDS, key=len, reverse=True)) + r")+\d*"
)
# Fewer distinct characters than this is a pattern (aaaa…, 1212…), not a random token.
MIN_DISTINCT_CHARACTERS = 8


def secret_weakness(value: str) -> str | None:
    """Why `value` must not guard anything reachable from another machine, or None if it may."""
    core = re.sub(r"[^a-z0-9]", "", value.lower())
    if not core or _PLACEHOLDER.fullmatch(core):
        return f"a well-known placeholder, not a secret; {HOW_TO_MAKE_ONE}"
    if len(value) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters; {HOW_TO_MAKE_ONE}"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return f"a few characters repeated, not a secret; {HOW_TO_MAKE_ONE}"
    return None
