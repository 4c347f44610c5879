"""Time in one place: timezone-aware UTC now, and unix seconds for API bodies."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())
