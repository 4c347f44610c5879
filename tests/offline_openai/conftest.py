"""Fixtures: one offline upstream process per session, reset to its start-up state per test."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from offline_helpers import start_upstream, stop_upstream
from openai import OpenAI


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


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    log_path = tmp_path_factory.mktemp("offline_openai") / "server.log"
    process, url = start_upstream({}, log_path)
    try:
        yield Upstream(url, process)
    finally:
        stop_upstream(process)


@pytest.fixture(autouse=True)
def fresh_state(upstream: Upstream) -> None:
    assert upstream.ops("POST", "/_offline/reset").status_code == 200


@pytest.fixture
def client(upstream: Upstream) -> OpenAI:
    return upstream.client()
