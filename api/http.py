"""Small helpers every view uses: parse a JSON body or a query string, and who is asking."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import g, request
from pydantic import BaseModel, ValidationError

from api.errors import validation_error
from shared.accounts.rate_limit import check_rate_limit
from shared.accounts.tokens import Caller, acting_user_id
from shared.core.errors import MalformedRequest, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)

MAX_JSON_DEPTH = 32


def json_body(model: type[M], optional: bool = False) -> M:
    raw = request.get_data(cache=True)
    if not raw and optional:
        return model()
    if not request.is_json:
        raise UnsupportedMediaType("unsupported_media_type", "Send the body as application/json.")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except UnicodeDecodeError:
        raise MalformedRequest("invalid_json", "The body is not valid UTF-8.") from None
    except (ValueError, RecursionError):
        raise MalformedRequest("invalid_json", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise MalformedRequest("invalid_json", "The body must be a JSON object.")
    if _depth(data) > MAX_JSON_DEPTH:
        raise MalformedRequest(
            "invalid_json", f"The body nests deeper than {MAX_JSON_DEPTH} levels."
        )
    return _validate(model, data)


def _not_json(constant: str) -> Any:
    """Python's parser takes NaN and Infinity; JSON (and the upstream) does not."""
    raise ValueError(f"{constant} is not JSON")


def query(model: type[M]) -> M:
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        data[key] = values[0] if len(values) == 1 else values
    return _validate(model, data)


def _validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, data) from None


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def caller() -> Caller:
    return g.caller  # type: ignore[no-any-return]


def acting_user(requested: str | None) -> str:
    return acting_user_id(caller(), requested)


def submitting_user(requested: str | None) -> str:
    """The acting user of a submit, counted against their rate limit."""
    user_id = acting_user(requested)
    check_rate_limit(user_id)
    return user_id
