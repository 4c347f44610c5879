"""GET /openapi.json."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Blueprint

from api.openapi_compat import with_compat_routes
from api.openapi_doc import build_document

bp = Blueprint("openapi", __name__)


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    return with_compat_routes(build_document())


@bp.get("/openapi.json")
def openapi_json() -> dict[str, Any]:
    return _document()
