"""The HTTP API (`gunicorn 'api:create_app()'`): validates, authenticates, stores, enqueues."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from api.auth import register_authentication
from api.commands import register_commands
from api.errors import register_error_handlers
from api.routes import (
    chat,
    compat,
    conversations,
    files,
    health,
    jobs,
    openapi,
    responses,
    usage,
    web,
    webhooks,
)
from shared.core.errors import NotFound
from shared.core.log_config import configure_logging
from shared.core.settings import get_settings

log = logging.getLogger(__name__)

CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    settings = get_settings()
    app = Flask(__name__, static_folder=None)
    app.config.update(
        MAX_CONTENT_LENGTH=max(settings.MAX_REQUEST_BYTES, settings.MAX_UPLOAD_BYTES + 65_536)
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if test_config:
        app.config.update(test_config)
    configure_logging(settings)
    register_error_handlers(app)
    # Imported here, in the serving process, never at import: see api/metrics.py.
    from api.metrics import register_metrics

    register_metrics(app)
    register_authentication(app)
    register_commands(app)

    @app.before_request
    def _refuse_unstorable_ids() -> None:
        # No id holds a control character, and PostgreSQL refuses NUL in any text parameter.
        if any(CONTROL_CHARACTER.search(value) for value in (request.view_args or {}).values()):
            raise NotFound("not_found", "No object has that id.")

    @app.before_request
    def _limit_body() -> None:
        # Uploads may be as large as MAX_UPLOAD_BYTES; every other body is a small JSON document.
        if request.path != "/v1/files":
            request.max_content_length = settings.MAX_REQUEST_BYTES
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            # Werkzeug cuts a chunked body off at the limit without a word: read it here, so
            # one past the limit is refused as too large, not parsed as a cut-off body.
            limit = request.max_content_length
            if limit is not None:
                request.max_content_length = limit + 1  # one byte past it tells them apart
                if len(request.get_data(cache=True)) > limit:
                    raise RequestEntityTooLarge()

    for blueprint in (
        chat.bp,
        jobs.bp,
        webhooks.bp,
        conversations.bp,
        responses.bp,
        files.bp,
        usage.bp,
        health.bp,
        openapi.bp,
        web.bp,
        compat.bp,
    ):
        app.register_blueprint(blueprint)
    if settings.BOOTSTRAP_TOKEN:
        _bootstrap_token(settings.BOOTSTRAP_TOKEN)
    return app


def _bootstrap_token(token: str) -> None:
    from shared.accounts.tokens import create_token

    try:
        create_token("bootstrap", kind="service", token=token)
    except Exception as exc:  # the database may not be up yet; /readyz says so
        log.warning("could not create the bootstrap token yet: %s", exc)
