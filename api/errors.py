"""One place that turns every failure into the one error body: never HTML, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from gunicorn.http.errors import ParseException
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from shared.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    JobFailed,
    MalformedRequest,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)

# Each domain error's status, and the error `type` every status reports.
STATUSES: dict[type[DomainError], int] = {
    MalformedRequest: 400,
    Unauthenticated: 401,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidInput: 422,
    RateLimited: 429,
    JobFailed: 502,
    Unavailable: 503,
}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    414: "invalid_request_error",
    415: "invalid_request_error",
    417: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    431: "invalid_request_error",
    502: "upstream_error",
    503: "service_unavailable_error",
}

HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class ErrorDetail(BaseModel):
    type: str
    code: str
    message: str
    param: str | None


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


def error_body(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    detail = ErrorDetail(
        type=ERROR_TYPES.get(status, "api_error"), code=code, message=message, param=param
    )
    return ErrorBody(error=detail).model_dump()


def error_response(status: int, code: str, message: str, param: str | None = None) -> Response:
    response = jsonify(error_body(status, code, message, param))
    response.status_code = status
    return response


def render(error: DomainError) -> Response:
    status = next(STATUSES[kind] for kind in type(error).__mro__ if kind in STATUSES)
    response = error_response(status, error.code, error.message, error.param)
    if isinstance(error, Unauthenticated):
        response.headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, Unavailable):
        response.headers["Retry-After"] = "1"
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
    message = error["msg"]
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
