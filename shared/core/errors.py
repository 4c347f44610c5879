"""The service's domain errors, told apart by type: api/ turns each into its HTTP answer, and the
worker catches the one it can ride out (the database being away) by its type."""

from __future__ import annotations


class DomainError(Exception):
    """A request refused or not done: a machine code, a message a person can act on, and the
    field at fault."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


class MalformedRequest(DomainError):
    """The request can't be read at all."""


class Unauthenticated(DomainError):
    """No token, or one that is unknown or revoked."""


class Forbidden(DomainError):
    """Known, but not allowed here."""


class NotFound(DomainError):
    """No such object, or not the caller's."""


class Conflict(DomainError):
    """The object's state forbids it now (closed, expired, busy, finished...)."""


class TooLarge(DomainError):
    """A body or file past its size limit."""


class UnsupportedMediaType(DomainError):
    """A body or file of a type the service does not take."""


class InvalidInput(DomainError):
    """A field that is readable but not acceptable."""


class RateLimited(DomainError):
    """Too many requests, or over a budget: try again after `retry_after` seconds."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class JobFailed(DomainError):
    """A job whose answer was awaited ended without one: the upstream or a tool failed it."""


class Unavailable(DomainError):
    """A dependency is down: nothing was accepted; try again."""


class DatabaseUnavailable(Unavailable):
    """The database can't be reached or is too busy to write now."""

    def __init__(self, message: str = "The database is unavailable; try again.") -> None:
        super().__init__("database_unavailable", message)


def not_found(what: str, param: str | None = None) -> NotFound:
    return NotFound("not_found", f"No such {what}.", param)
