"""Shared constants and helpers of the offline upstream's tests."""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from openai import OpenAI

MODEL = "gpt-5-nano"
# Its reply ("[offline turn 1] You said: one … twelve …") runs past the least max_output_tokens, 16.
LONG_INPUT = "one two three four five six seven eight nine ten eleven twelve thirteen"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 15


def calls_of(response: Any) -> list[Any]:
    """The function_call items of a response."""
    return [item for item in response.output if item.type == "function_call"]


def parse_sse(raw: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) pairs of a text/event-stream body."""
    frames = []
    for block in raw.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        frames.append((fields["event"], json.loads(fields["data"])))
    return frames


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def start_upstream(extra_env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[str], str]:
    """Start the server on a free port; return the process and the URL it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFLINE_OPENAI_")}
    env.update(extra_env)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "offline_openai", "--port", "0"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    ready = selector.select(timeout=START_TIMEOUT_S)
    selector.close()
    line = process.stdout.readline() if ready else ""
    match = re.fullmatch(r"offline_openai listening on (http://\S+)\n", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"offline_openai did not start: {line!r} {log_path.read_text()}")
    return process, match.group(1)


def stop_upstream(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    if process.stdout is not None:
        process.stdout.close()


@dataclass
class Upstream:
    """A running `python -m offline_openai` and helpers to drive it."""

    root_url: str
    process: subprocess.Popen[str]

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def client(self, **options: Any) -> OpenAI:
        settings: dict[str, Any] = {"api_key": "test-key", "max_retries": 0, "timeout": 20.0}
        settings.update(options)
        return OpenAI(base_url=self.base_url, **settings)

    def ops(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.root_url}{path}", timeout=10.0, **kwargs)

    def configure(self, **patch: Any) -> dict[str, Any]:
        answer = self.ops("PUT", "/_offline/config", json=patch)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def stats(self) -> dict[str, Any]:
        return dict(self.ops("GET", "/_offline/stats").json())
