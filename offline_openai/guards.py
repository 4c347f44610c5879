"""What happens to every /v1 request before any work: hang, auth, injected faults."""

from __future__ import annotations

import contextlib
import json
import math
import random
import socket
import time

from flask import Response, request

from offline_openai.errors import ApiError, DroppedConnection
from offline_openai.store import Store, current_store

_HANG_POLL_S = 0.1


def guard_v1_request() -> Response | None:
    if not (request.path == "/v1" or request.path.startswith("/v1/")):
        return None
    store = current_store()
    if store.config.hang:
        _wait_while_hung(store)
    _check_auth(store.config.api_key)
    return _maybe_fault(store)


def _wait_while_hung(store: Store) -> None:
    # Read the body first so that a readable socket can only mean the client hung up.
    request.get_data(cache=True)
    sock = _client_socket()
    while store.config.hang:
        time.sleep(_HANG_POLL_S)
        if isinstance(sock, socket.socket) and _client_gone(sock):
            raise DroppedConnection()


def _client_socket() -> object:
    """The request's socket, as the server hands it to the app (gunicorn; werkzeug's name too)."""
    return request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")


def _client_gone(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _check_auth(api_key: str | None) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if api_key is not None and token != api_key:
        shown = f"{token[:3]}*****{token[-4:]}" if len(token) > 8 else "*****"
        raise ApiError(401, f"Incorrect API key provided: {shown}.", code="invalid_api_key")


def _maybe_fault(store: Store) -> Response | None:
    faults = store.config.faults
    draw = random.random()
    threshold = 0.0
    for kind in ("429", "500", "drop"):
        threshold += faults.get(kind, 0.0)
        if draw < threshold:
            store.count_fault(kind)
            return _fault(kind, store.config.retry_after_ms)
    return None


def _fault(kind: str, retry_after_ms: int) -> Response:
    if kind == "drop":
        sock = _client_socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise DroppedConnection()
    if kind == "429":
        error = ApiError(
            429,
            "Rate limit reached for requests (injected by the offline upstream). "
            f"Please try again in {retry_after_ms}ms.",
            type="requests",
            code="rate_limit_exceeded",
            headers={
                "Retry-After": str(max(1, math.ceil(retry_after_ms / 1000))),
                "retry-after-ms": str(retry_after_ms),
                "x-ratelimit-remaining-requests": "0",
            },
        )
    else:
        error = ApiError(
            500,
            "The server had an error while processing your request (injected by the offline "
            "upstream).",
            type="server_error",
            code="server_error",
        )
    return error_response(error)


def error_response(error: ApiError) -> Response:
    response = Response(json.dumps(error.body()), status=error.status, mimetype="application/json")
    for name, value in error.headers.items():
        response.headers[name] = value
    return response
