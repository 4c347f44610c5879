"""One place that turns every failure into the one error body: never HTML, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from gunicorn.http.errors import ParseException
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from shared.core.error_body import answer_for, error_body
from shared.core.errors import (
    DomainError,
    InvalidInput,
    MalformedRequest,
    Unavailable,
)

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(status: int, code: str, message: str, param: str | None = None) -> Response:
    response = jsonify(error_body(status, code, message, param))
    response.status_code = status
    return response


def render(error: DomainError) -> Response:
    status, body, headers = answer_for(error)
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers)
    return response


def validation_error(exc: ValidationError, data: Any = None) -> InvalidInput:
    """The most specific of pydantic's errors, naming the field by its path in `data` (the
    input validated): pydantic's location also names the union member it tried (`constrained-str`,
    `list[InputMessage]`, a discriminator's value), which no client wrote."""
    errors = exc.errors()
    paths = [_path_in(data, error) for error in errors]
    # The deepest; among equals, one that isn't "not this type" (a union's other forms say that).
    chosen = max(
        range(len(errors)),
        key=lambda index: (len(paths[index]), not errors[index]["type"].endswith("_type"), index),
    )
    error, param = errors[chosen], ".".join(map(str, paths[chosen])) or None
    if error["type"] == "extra_forbidden":
        return InvalidInput("unknown_parameter", f"Unknown parameter: {param}.", param)
    # A validator's own words, without pydantic's "Value error, " before them.
    message = error["msg"].removeprefix("Value error, ")
    return InvalidInput("invalid_parameter", f"{param}: {message}" if param else message, param)


def _path_in(data: Any, error: ErrorDetails) -> list[str | int]:
    """The parts of the error's location that index into `data` (and a missing field's name)."""
    location = error["loc"]
    if data is None:
        return list(location)
    path: list[str | int] = []
    for position, part in enumerate(location):
        in_dict = isinstance(data, dict) and part in data
        if in_dict or (isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)):
            data = data[part]
        elif not (position == len(location) - 1 and error["type"] == "missing"):
            continue  # a union member's tag (a missing field's name is the one part kept)
        path.append(part)
    return path


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, render)

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError) -> Response:
        return render(validation_error(exc))

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def _redis_down(exc: Exception) -> Response:
        return render(Unavailable("redis_unavailable", "Redis is unavailable; try again."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = HTTP_CODES.get(status, "http_error")
        message = exc.description or exc.name
        if status == 413:
            message = "The request body is too large."
        response = error_response(status, code, message)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(ParseException)
    def _unreadable_body(exc: ParseException) -> Response:
        # gunicorn reads the body as the app asks for it: a malformed chunk surfaces here.
        return render(MalformedRequest("bad_request", f"The request body is malformed: {exc}."))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "The gateway failed; this is a bug.")
