"""Gunicorn's gthread worker, except that a request gunicorn refuses before the app sees it (a
malformed request line or header, a bad Content-Length, too many or too large headers) gets
the JSON error body rather than gunicorn's HTML page. Status codes and logging are those
of gunicorn's own `Worker.handle_error` (gunicorn/workers/base.py)."""

from __future__ import annotations

import json
import socket
from datetime import datetime
from http import HTTPStatus
from ssl import SSLError
from typing import Any

from gunicorn import util
from gunicorn.http import errors
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.gthread import ThreadWorker

from shared.core.error_body import error_body

# (exceptions, status, code, message) in gunicorn's order; `{}` is the exception's text.
REFUSALS: tuple[tuple[tuple[type[BaseException], ...], int, str, str], ...] = (
    ((errors.UnsupportedTransferCoding,), 501, "not_implemented", "{}."),
    ((errors.ConfigurationProblem,), 500, "internal_error", "{}."),
    ((errors.LimitRequestLine,), 414, "uri_too_long", "The request line is too long: {}."),
    ((errors.ExpectationFailed,), 417, "expectation_failed", "{}."),
    (
        (errors.LimitRequestHeaders,),
        431,
        "request_header_fields_too_large",
        "The request's header fields are too large or too many: {}.",
    ),
    ((errors.ForbiddenProxyRequest,), 403, "forbidden", "Request forbidden."),
    ((SSLError,), 403, "forbidden", "{}."),
    (
        (
            errors.InvalidRequestLine,
            errors.InvalidRequestMethod,
            errors.InvalidHTTPVersion,
            errors.InvalidHeader,
            errors.InvalidHeaderName,
            errors.InvalidProxyLine,
            errors.InvalidSchemeHeaders,
            errors.ObsoleteFolding,
            errors.InvalidH2CPreface,
            errors.InvalidChunkSize,
            errors.ChunkMissingTerminator,
            errors.InvalidChunkExtension,
        ),
        400,
        "bad_request",
        "The request is malformed: {}.",
    ),
)
# A response header the app tried to send is the app's fault: a 500 like any other app error.
APP_FAULTS = (errors.InvalidResponseHeader, errors.InvalidResponseHeaderName)
MAX_ECHO = 200  # characters of the refused input quoted back


def refusal(exc: BaseException) -> tuple[int, str, str] | None:
    """The answer to a request gunicorn refused; None when the fault is not the client's."""
    if isinstance(exc, APP_FAULTS):
        return None
    for types, status, code, message in REFUSALS:
        if isinstance(exc, types):
            text = str(exc)
            text = text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "…"
            return status, code, message.format(text)
    return None


class JsonErrorThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn is untyped
    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        request_start = datetime.now()
        addr = addr or ("", -1)  # unix socket case
        answer = refusal(exc)
        if answer is not None:
            if isinstance(exc, errors.InvalidHeader | errors.InvalidHeaderName) and not req:
                req = getattr(exc, "req", None)  # for the access log
            self.log.warning(f"Invalid request from ip={addr[0]}: {exc}")
        else:
            if hasattr(req, "uri") and hasattr(req, "method"):
                self.log.exception("Error handling request %s %s", req.method, req.uri)
            elif hasattr(req, "uri"):
                self.log.exception("Error handling request %s", req.uri)
            else:
                self.log.exception("Error handling request (no URI read)")
            answer = 500, "internal_error", "The gateway failed; this is a bug."

        status_code = answer[0]
        body = json.dumps(error_body(*answer)).encode()
        status = f"{status_code} {HTTPStatus(status_code).phrase}"
        if req is not None:
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"] = addr[0]
            environ["REMOTE_PORT"] = str(addr[1])
            response = Response(req, client, self.cfg)
            response.status = status
            response.response_length = len(body)
            self.log.access(response, req, environ, datetime.now() - request_start)

        head = (
            f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:
            self.log.debug("Failed to send error message.")
