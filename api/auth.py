"""Bearer-token authentication for every /v1 route, and the request id every answer carries."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

from shared.auth import authenticate
from shared.errors import ApiError

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def register_authentication(app: Flask) -> None:
    @app.before_request
    def _authenticate() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID_PATTERN.match(given) else uuid.uuid4().hex
        if not request.path.startswith("/v1/"):
            return
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401,
                "missing_token",
                "Send Authorization: Bearer <token>.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        g.caller = authenticate(token.strip())

    @app.after_request
    def _request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response
