"""What every example shares: a client of the gateway, configured as `make run` prints it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from client import Gateway, Job
from client.core import Json

DEV_TOKEN = Path(__file__).resolve().parent.parent / "data" / "dev-token"
RESOURCES = Path(__file__).resolve().parent / "resources"
WAIT_SECONDS = 60.0


def connect(user_id: str | None = None) -> Gateway:
    """GATEWAY_URL (default http://127.0.0.1:8000) and GATEWAY_TOKEN (default: the token
    `make run` keeps in data/dev-token); GATEWAY_USER names the user a service token acts for
    (default "alice" with `make run`'s token)."""
    url = os.environ.get("GATEWAY_URL") or "http://127.0.0.1:8000"
    token = os.environ.get("GATEWAY_TOKEN")
    user = user_id or os.environ.get("GATEWAY_USER")
    if not token:
        if not DEV_TOKEN.exists():
            raise SystemExit("no token: set GATEWAY_TOKEN, or start the gateway with `make run`")
        token = DEV_TOKEN.read_text().strip()
        user = user or "alice"
    return Gateway(url, token, user_id=user)


def with_attachment(text: str, part: Json) -> list[Json]:
    """One user message: the text and one image or file (`{"type": "input_image", …}`)."""
    return [{"role": "user", "content": [{"type": "input_text", "text": text}, part]}]


def finished(job: Job) -> Job:
    """The job once it has ended (or waits for tool outputs); exits with its error if it failed."""
    job.wait(WAIT_SECONDS)
    if job.status not in ("completed", "requires_action"):
        raise SystemExit(f"job {job.id} ended {job.status}: {job.error}")
    return job


def questions(once: str | None) -> Iterator[str]:
    """The `--once` question alone, or the questions typed at the prompt until 'quit' or EOF."""
    if once is not None:
        yield once
        return
    while True:
        try:
            question = input("You: ").strip()
        except EOFError:
            return
        if question.lower() in ("quit", "exit"):
            return
        if question:
            yield question
