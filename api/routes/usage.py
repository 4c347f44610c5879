"""GET /v1/usage: a user's tokens per UTC day, against their budget."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.http import acting_user, query
from api.openapi import documented
from api.schemas import UsageQuery
from shared.accounts.usage_report import usage_report
from shared.views import UsageBody

bp = Blueprint("usage", __name__)


@bp.get("/v1/usage")
@documented({"HTTP_200": UsageBody}, query=UsageQuery)
def read_usage() -> dict[str, Any]:
    """Tokens and finished jobs per UTC day from `from` to `to`, and what is left of today's
    and this month's token budget."""
    params = query(UsageQuery)
    return usage_report(acting_user(params.user_id), params.from_date, params.to_date)
