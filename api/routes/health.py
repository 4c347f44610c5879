"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel

from api.openapi import documented
from shared.core.health import dependency_status

bp = Blueprint("health", __name__)


class Health(BaseModel):
    status: str
    checks: dict[str, str] | None = None


@bp.get("/healthz")
@documented({"HTTP_200": Health}, public=True)
def healthz() -> dict[str, Any]:
    """Liveness."""
    return {"status": "ok"}


@bp.get("/readyz")
@documented({"HTTP_200": Health, "HTTP_503": (Health, "not ready")}, public=True)
def readyz() -> tuple[dict[str, Any], int]:
    """Readiness: database and Redis."""
    checks = dependency_status()
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
