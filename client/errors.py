"""Exceptions: one type per error code of the gateway's API, with a fallback by HTTP status."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """An error answer of the gateway: `{"error": {"type", "code", "message", "param"}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.retry_after = retry_after


class TransportError(GatewayError):
    """The gateway could not be reached (connection refused, reset, timed out)."""


class BadRequest(GatewayError):
    """400: the request could not be read."""


class InvalidJson(BadRequest):
    """400 invalid_json."""


class InvalidLastEventId(BadRequest):
    """400 invalid_last_event_id."""


class AuthenticationError(GatewayError):
    """401: the bearer token is missing, unknown or revoked."""


class NotFound(GatewayError):
    """404: not found, or not yours."""


class Conflict(GatewayError):
    """409: the resource's state forbids the request."""


class ConversationExpired(Conflict):
    """409 conversation_expired."""


class ConversationClosed(Conflict):
    """409 conversation_closed."""


class ConversationBusy(Conflict):
    """409 conversation_busy."""


class JobNotCancellable(Conflict):
    """409 job_not_cancellable."""


class JobNotWaiting(Conflict):
    """409 job_not_waiting: the job does not wait for tool outputs."""


class PayloadTooLarge(GatewayError):
    """413: the body or the file is too large."""


class UnsupportedMediaType(GatewayError):
    """415: wrong content type, or a file of a kind the gateway does not take."""


class InvalidRequest(GatewayError):
    """422: a field is invalid (`param` names it)."""


class IdempotencyKeyReused(InvalidRequest):
    """422 idempotency_key_reused: the same key was sent with another body."""


class MissingUserId(InvalidRequest):
    """422 missing_user_id: a service token must name user_id."""


class RateLimited(GatewayError):
    """429: too many submits; `retry_after` says when to try again."""


class BudgetExceeded(RateLimited):
    """429 budget_exceeded: the user's daily or monthly token budget is spent; `retry_after`
    is the seconds until it resets (not retried: that is hours away)."""


class ServerError(GatewayError):
    """500 and other 5xx answers."""


class ServiceUnavailable(ServerError):
    """503: a dependency (database, Redis) is down; nothing was accepted."""


BY_CODE: dict[str, type[GatewayError]] = {
    "invalid_json": InvalidJson,
    "invalid_last_event_id": InvalidLastEventId,
    "invalid_token": AuthenticationError,
    "not_found": NotFound,
    "conversation_expired": ConversationExpired,
    "conversation_closed": ConversationClosed,
    "conversation_busy": ConversationBusy,
    "job_not_cancellable": JobNotCancellable,
    "job_not_waiting": JobNotWaiting,
    "idempotency_key_reused": IdempotencyKeyReused,
    "missing_user_id": MissingUserId,
    "rate_limited": RateLimited,
    "budget_exceeded": BudgetExceeded,
    "redis_unavailable": ServiceUnavailable,
    "database_unavailable": ServiceUnavailable,
}

BY_STATUS: dict[int, type[GatewayError]] = {
    400: BadRequest,
    401: AuthenticationError,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: InvalidRequest,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_class(status: int, code: str) -> type[GatewayError]:
    """The exception type for an error code, else for the HTTP status."""
    if code in BY_CODE:
        return BY_CODE[code]
    if status in BY_STATUS:
        return BY_STATUS[status]
    return ServerError if status >= 500 else GatewayError


def error_from_body(
    status: int, body: Any, text: str = "", retry_after: float | None = None
) -> GatewayError:
    """Builds the exception for an error answer; a body of another shape still gives one."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": f"http_{status}", "message": text[:200] or f"HTTP {status}"}
    code = str(error.get("code") or f"http_{status}")
    message = str(error.get("message") or "")
    param = error.get("param")
    cls = error_class(status, code)
    return cls(
        status, code, message, param if isinstance(param, str) else None, retry_after=retry_after
    )
