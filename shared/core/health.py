"""Readiness: do the database and Redis answer?"""

from __future__ import annotations

from sqlalchemy import text

from shared.core.db import get_engine
from shared.core.redis_client import get_redis


def dependency_status() -> dict[str, str]:
    status = {}
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        status["database"] = "ok"
    except Exception as exc:
        status["database"] = f"unavailable: {type(exc).__name__}"
    try:
        get_redis().ping()
        status["redis"] = "ok"
    except Exception as exc:
        status["redis"] = f"unavailable: {type(exc).__name__}"
    return status
