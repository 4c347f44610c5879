"""Fixtures: one offline upstream process per session, reset to its start-up state per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from offline_helpers import Upstream, start_upstream, stop_upstream
from openai import OpenAI


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
