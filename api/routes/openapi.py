"""GET /openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.openapi import document

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi_json() -> dict[str, Any]:
    return document()
