"""Bearer-token authentication for every /v1 route (and the original app's routes), and the
request id every answer carries."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from shared.accounts.tokens import authenticate
from shared.core.errors import Unauthenticated
from shared.core.log_context import replace_log_fields

log = logging.getLogger("api.requests")

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# A URL ends up in proxies' and browsers' logs and histories: a token there is a token leaked.
URL_TOKEN_PARAMETERS = frozenset({"token", "access_token"})


def register_authentication(app: Flask) -> None:
    @app.before_request
    def _authenticate() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID_PATTERN.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()
        replace_log_fields(request_id=g.request_id)
        in_url = sorted(name for name in request.args if name.lower() in URL_TOKEN_PARAMETERS)
        if in_url:
            raise Unauthenticated(
                "token_in_url",
                "Tokens are never accepted in the URL: send Authorization: Bearer <token>, "
                "and replace a token that was sent in one.",
                in_url[0],
            )
        if not request.path.startswith("/v1/") and request.blueprint != "compat":
            return
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("missing_token", "Send Authorization: Bearer <token>.")
        g.caller = authenticate(token.strip())

    @app.after_request
    def _request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        route = request.url_rule.rule if request.url_rule else "(no route)"
        log.info(
            "%s %s %s",
            request.method,
            route,
            response.status_code,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.get("started", 0.0)) * 1000, 1),
                "user_id": g.caller.token_user_id if "caller" in g else None,
            },
        )
        return response

    @app.teardown_request
    def _forget_log_fields(_exc: BaseException | None) -> None:
        # Runs twice for a streamed answer (after the view, then after the stream): idempotent.
        replace_log_fields()
