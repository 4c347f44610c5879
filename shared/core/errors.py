"""The one error type of the service, rendered as the one error body of every answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

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


class ApiError(Exception):
    """An answer to a caller that went wrong: status, machine code, human message, bad field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return ErrorBody(
            error=ErrorDetail(
                type=ERROR_TYPES.get(self.status, "api_error"),
                code=self.code,
                message=self.message,
                param=self.param,
            )
        ).model_dump()


def not_found(what: str, param: str | None = None) -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.", param)
