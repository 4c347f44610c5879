"""Stored upstream responses, by id."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.http import acting_user, query
from api.schemas import UserQuery
from shared.conversations import get_response

bp = Blueprint("responses", __name__)


@bp.get("/v1/responses/<response_id>")
def read_response(response_id: str) -> dict[str, Any]:
    return get_response(acting_user(query(UserQuery).user_id), response_id)
