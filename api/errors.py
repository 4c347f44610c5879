"""One place that turns every failure into DESIGN §4's error body: never HTML, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException

from shared.errors import ApiError

log = logging.getLogger(__name__)

RETRY = {"Retry-After": "1"}

HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def render(error: ApiError) -> Response:
    response = jsonify(error.body())
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def validation_error(exc: ValidationError) -> ApiError:
    first = exc.errors()[0]
    param = ".".join(str(part) for part in first["loc"]) or None
    if first["type"] == "extra_forbidden":
        return ApiError(422, "unknown_parameter", f"Unknown parameter: {param}.", param)
    message = first["msg"]
    return ApiError(422, "invalid_parameter", f"{param}: {message}" if param else message, param)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, render)

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError) -> Response:
        return render(validation_error(exc))

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def _redis_down(exc: Exception) -> Response:
        return render(
            ApiError(503, "redis_unavailable", "Redis is unavailable; try again.", None, RETRY)
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = HTTP_CODES.get(status, "http_error")
        message = exc.description or exc.name
        if status == 413:
            message = "The request body is too large."
        return render(ApiError(status, code, message))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return render(ApiError(500, "internal_error", "The gateway failed; this is a bug."))
