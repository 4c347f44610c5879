"""The web chat page: `GET /` and its static files (plain HTML, CSS and JavaScript, no build).

The page is a client of the public /v1 routes only; it holds no secret. Its token lives in
the browser's local storage and travels in the Authorization header, never in a URL.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

from api.openapi import documented

STATIC = Path(__file__).resolve().parent.parent / "static"

# No inline script or style, nothing from another origin: the page only talks to this API.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)

bp = Blueprint("web", __name__, static_folder=str(STATIC), static_url_path="/static")


@bp.get("/")
@documented({"HTTP_200": None}, public=True)
def index() -> Response:
    """The web chat page (its files are under /static/)."""
    return send_from_directory(STATIC, "index.html", max_age=0)


@bp.after_request
def _page_headers(response: Response) -> Response:
    # Runs for this blueprint's routes only (the page and its files), not for API answers.
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
