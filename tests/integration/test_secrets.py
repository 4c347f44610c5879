"""Secrets stay secret: the OpenAI key and tokens appear in no answer and no log line."""

from __future__ import annotations

import uuid

import httpx

from tests.harness import Stack
from tests.integration.conftest import chat, wait_for_job

OPENAI_KEY = "sk-test-offline-key"  # what tests/harness.py gives every stack


def test_no_answer_or_log_line_shows_the_openai_key_or_a_token(
    stack: Stack, api: httpx.Client
) -> None:
    user = f"secret-{uuid.uuid4().hex[:6]}"
    user_token = stack.flask("tokens", "create", f"person-{uuid.uuid4().hex[:6]}")
    answers = []
    job = chat(api, user, "What's the weather in Paris?", tools=["get_weather"])
    answers.append(wait_for_job(api, job["id"], user))
    answers.append(api.get("/v1/jobs", params={"user_id": user}).json())
    with stack.client(user_token) as own:
        answers.append(own.post("/v1/chat", json={"message": "hello"}).json())
        answers.append(own.get("/v1/jobs", params={"user_id": "someone-else"}).json())
    with stack.client("gw_not_a_real_token") as stranger:
        answers.append(stranger.get("/v1/jobs").json())
    answers.append(api.get("/openapi.json").json())
    bodies = repr(answers)
    logs = stack.logs(limit=None)
    for secret in (OPENAI_KEY, stack.token, user_token):
        assert secret not in bodies
        assert secret not in logs, f"a secret appears in the logs: {secret[:6]}…"
