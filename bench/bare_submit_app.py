"""The submit baseline: a minimal Flask app whose handler only enqueues a no-op Celery task on
the same Redis, no database, no authentication (`gunicorn 'bench.bare_submit_app:app'`)."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from bench.bare_celery import noop

app = Flask(__name__)


@app.post("/v1/chat")
def post_chat() -> tuple[dict[str, Any], int]:
    body = request.get_json(force=True)
    sent = noop.apply_async(args=[body.get("user_id")])
    return {"id": sent.id, "object": "job", "status": "queued"}, 202


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
