"""Cursor pagination (`limit`, `order`, `after`) for list endpoints, as OpenAI does it."""

from __future__ import annotations

from typing import Any

from flask import request

from offline_openai.errors import invalid


def page(
    items: list[dict[str, Any]],
    *,
    default_limit: int = 20,
    max_limit: int = 100,
    default_order: str = "desc",
) -> dict[str, Any]:
    """A list body for `items` (oldest first) shaped by the request's query parameters."""
    raw_limit = request.args.get("limit")
    try:
        limit = int(raw_limit) if raw_limit else default_limit
    except ValueError:
        raise invalid("Invalid 'limit': expected an integer.", "limit") from None
    if not 1 <= limit <= max_limit:
        raise invalid(f"Invalid 'limit': expected a value from 1 to {max_limit}.", "limit")
    order = request.args.get("order") or default_order
    if order not in ("asc", "desc"):
        raise invalid("Invalid 'order': expected 'asc' or 'desc'.", "order")
    ordered = items if order == "asc" else items[::-1]
    start = 0
    after = request.args.get("after")
    if after:
        ids = [item.get("id") for item in ordered]
        if after not in ids:
            raise invalid(f"Invalid 'after': no item with id '{after}'.", "after")
        start = ids.index(after) + 1
    data = ordered[start : start + limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else "",
        "last_id": data[-1]["id"] if data else "",
        "has_more": start + limit < len(ordered),
    }
