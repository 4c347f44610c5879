"""The Flask application factory of the offline upstream."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from offline_openai import routes_conversations, routes_files, routes_ops, routes_responses
from offline_openai.config import ConfigError, OfflineConfig
from offline_openai.errors import ApiError, DroppedConnection
from offline_openai.generation import resume_unfinished
from offline_openai.guards import error_response, guard_v1_request
from offline_openai.store import Store


def create_app(
    config: OfflineConfig | Mapping[str, Any] | None = None, state_path: str | None = None
) -> Flask:
    """Build the app; `config` is an OfflineConfig, a patch over the defaults, or None (env,
    which also names the state file, OFFLINE_OPENAI_STATE); no state path keeps it in memory."""
    if config is None:
        config = OfflineConfig.from_env(os.environ)
        state_path = state_path or os.environ.get("OFFLINE_OPENAI_STATE") or None
    elif not isinstance(config, OfflineConfig):
        config = OfflineConfig().updated(config)
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    store = Store(config, state_path)
    app.extensions["offline_openai"] = store
    resume_unfinished(store)
    app.before_request(guard_v1_request)
    for module in (routes_responses, routes_conversations, routes_files):
        app.register_blueprint(module.bp, url_prefix="/v1")
    app.register_blueprint(routes_ops.bp)
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(DroppedConnection, _dropped)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _dropped(_: DroppedConnection) -> Response:
    # The socket is already shut down (or the client left): whatever we write is lost.
    return Response(b"", status=502)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = (
        f"Invalid URL ({request.method} {request.path})"
        if status in (404, 405)
        else exc.description or exc.name
    )
    return error_response(ApiError(status, message))


__all__ = ["ConfigError", "create_app"]
