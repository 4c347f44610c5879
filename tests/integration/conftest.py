"""Integration fixtures: one real stack per database for the session (PostgreSQL when
TEST_DATABASE_URL names one), plus helpers to submit and wait through real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.fake_open_meteo import OpenMeteo, OpenMeteoServer
from tests.harness import Stack

DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
MCP_SERVER = "https://mcp.example.com/sse"
MAX_UPLOAD_BYTES = 2_000_000


@pytest.fixture(scope="session")
def open_meteo() -> Iterator[OpenMeteo]:
    with OpenMeteoServer() as state:
        yield state


@pytest.fixture(scope="session", params=DATABASES)
def stack(request: pytest.FixtureRequest, open_meteo: OpenMeteo) -> Iterator[Stack]:
    settings = {
        "WEATHER_API_URL": f"{open_meteo.base_url}/v1/forecast",
        "GEOCODING_API_URL": f"{open_meteo.base_url}/v1/search",
        "MCP_ALLOWED_URLS": MCP_SERVER,
        "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "RATE_LIMIT": "100000/minute",
    }
    with running(request, Stack(database=request.param, settings=settings)) as started:
        yield started


@contextmanager
def running(request: pytest.FixtureRequest, stack: Stack) -> Iterator[Stack]:
    """Start the stack; stop it afterwards (also when it failed to start, so none of its
    processes outlive the session), printing its logs if a test failed."""
    try:
        stack.start()
        yield stack
    finally:
        if request.session.testsfailed:
            print(stack.logs())
        stack.stop()


@pytest.fixture()
def api(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        yield client


@pytest.fixture()
def upstream(stack: Stack) -> Iterator[httpx.Client]:
    with stack.upstream() as client:
        yield client


def wait_for_job(
    api: httpx.Client, job_id: str, user_id: str, timeout: float = 30
) -> dict[str, Any]:
    response = api.get(f"/v1/jobs/{job_id}", params={"wait": min(timeout, 30), "user_id": user_id})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def chat(api: httpx.Client, user_id: str, message: str, **fields: Any) -> dict[str, Any]:
    response = api.post("/v1/chat", json={"message": message, "user_id": user_id, **fields})
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]
