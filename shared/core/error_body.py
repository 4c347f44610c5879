"""The one error body of every HTTP answer of ours (the API's, its gunicorn's, the metrics
servers'), and the status each domain error answers with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
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

STATUSES: dict[type[DomainError], int] = {
    MalformedRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidInput: 422,
    RateLimited: 429,
    JobFailed: 502,
    Unavailable: 503,
}
# The error `type` each status reports.
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


def answer_for(error: DomainError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The status, body and headers that answer `error`."""
    status = next(STATUSES[kind] for kind in type(error).__mro__ if kind in STATUSES)
    headers: dict[str, str] = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, Unavailable):
        headers["Retry-After"] = "1"
    return status, error_body(status, error.code, error.message, error.param), headers
