"""Identifiers shaped like OpenAI's (resp_…, msg_…, call_…, conv_…, file-…)."""

from __future__ import annotations

import secrets
import string

_BASE62 = string.ascii_letters + string.digits


def hex_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def base62_id(prefix: str, length: int = 24, separator: str = "_") -> str:
    return prefix + separator + "".join(secrets.choice(_BASE62) for _ in range(length))


def response_id(length: int = 0) -> str:
    """`resp_` + 48 hex digits as OpenAI's, or `length` characters as some proxies make them."""
    return hex_id("resp") if length <= 0 else base62_id("resp", length)


def file_id() -> str:
    return base62_id("file", 22, separator="-")


def call_id() -> str:
    return base62_id("call", 24)
