"""Ids that follow a unit of work into every log line: the request id, job, conversation and
upstream response ids."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

_fields: ContextVar[dict[str, Any] | None] = ContextVar("log_fields", default=None)


def set_log_fields(**fields: Any) -> Token[dict[str, Any] | None]:
    """Add `fields` to every later log line of this thread (or task) until reset."""
    known = {k: v for k, v in fields.items() if v is not None}
    return _fields.set({**(_fields.get() or {}), **known})


def reset_log_fields(token: Token[dict[str, Any] | None]) -> None:
    _fields.reset(token)


def replace_log_fields(**fields: Any) -> None:
    """Start afresh: a server thread serving one request after another carries no ids over."""
    _fields.set({k: v for k, v in fields.items() if v is not None} or None)


@contextmanager
def log_fields(**fields: Any) -> Iterator[None]:
    """Add `fields` to every log line written inside the block."""
    token = set_log_fields(**fields)
    try:
        yield
    finally:
        reset_log_fields(token)


def add_log_fields(**fields: Any) -> None:
    """Add fields for the rest of the enclosing `log_fields` block (none: nothing to add to)."""
    current = _fields.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if v is not None})


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_fields.get() or {}).items():
            setattr(record, key, value)
        return True
