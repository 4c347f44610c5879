"""Errors rendered in OpenAI's `{"error": {...}}` shape, and the dropped-connection signal."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: HTTP status plus OpenAI's message, type, param and code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class DroppedConnection(Exception):
    """Raised to end a request without answering (fault injection or a vanished client)."""


def invalid(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def missing(param: str) -> ApiError:
    return ApiError(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def not_found(kind: str, object_id: str, param: str | None = None) -> ApiError:
    return ApiError(404, f"{kind} with id '{object_id}' not found.", param=param)
