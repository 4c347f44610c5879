"""Keyset pagination over time-ordered ids: `limit` plus `after` (an id), newest or oldest first."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared.core.errors import InvalidInput

T = TypeVar("T")

MAX_LIMIT = 100


def page(
    session: Session,
    query: Select[T],
    id_column: InstrumentedAttribute[Any],
    limit: int,
    after: str | None,
    newest_first: bool,
    id_prefix: str,
) -> tuple[list[T], bool]:
    """Answer (items, has_more). `after` may name an object since deleted (ids sort in creation
    order, so the page still starts where it left off) but must be an id of the kind listed."""
    if after and not after.startswith(f"{id_prefix}_"):
        raise InvalidInput(
            "invalid_cursor", f"after must be a {id_prefix}_… id from this list.", "after"
        )
    if after:
        query = query.where(id_column < after if newest_first else id_column > after)
    query = query.order_by(id_column.desc() if newest_first else id_column.asc()).limit(limit + 1)
    items = list(session.scalars(query))
    return items[:limit], len(items) > limit


class ListBody(BaseModel):
    """A page of a list; each list's body names the type of its `data`."""

    model_config = ConfigDict(extra="forbid")

    object: Literal["list"]
    data: list[Any]
    first_id: str | None
    last_id: str | None
    has_more: bool


def list_body(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return ListBody(
        object="list",
        data=data,
        first_id=data[0]["id"] if data else None,
        last_id=data[-1]["id"] if data else None,
        has_more=has_more,
    ).model_dump()
