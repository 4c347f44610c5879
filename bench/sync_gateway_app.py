"""The original example's design, the slow-upstream baseline: a Flask handler that calls the
upstream with the openai SDK inside the request (`gunicorn 'bench.sync_gateway_app:app'`, with
OPENAI_BASE_URL pointing at the offline upstream)."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request
from openai import OpenAI

app = Flask(__name__)
# One client per gunicorn worker (the app is imported after the fork); no retries, and a
# timeout longer than any queueing in the benchmark, so every call is exactly one request.
client = OpenAI(
    api_key="offline", base_url=os.environ["OPENAI_BASE_URL"], max_retries=0, timeout=900
)
MODEL = os.environ.get("OPENAI_MODEL", "gpt-5-nano")


@app.post("/v1/chat")
def post_chat() -> dict[str, Any]:
    body = request.get_json(force=True)
    response = client.responses.create(model=MODEL, input=body["message"])
    return {"id": response.id, "status": response.status, "output_text": response.output_text}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
