"""`make flower` (python -m worker.flower): Celery's monitor runs only behind basic auth."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.harness import ROOT, VENV_BIN, Process, Stack, free_port, wait_until


@pytest.fixture(scope="module")
def broker() -> Iterator[Stack]:
    stack = Stack()  # only its redis-server is started
    stack.start_redis()
    yield stack
    stack.stop()


def test_flower_asks_for_the_configured_credentials(broker: Stack) -> None:
    port = free_port()
    env = {**broker.env(), "FLOWER_BASIC_AUTH": "admin:s3cret", "FLOWER_PORT": str(port)}
    flower = Process(
        "flower", [str(VENV_BIN / "python"), "-m", "worker.flower"], env, broker.workdir
    )
    broker.processes["flower"] = flower.start()
    url = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: httpx.get(f"{url}/healthcheck").status_code == 200, timeout=90, what="flower"
    )
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, auth=("admin", "wrong")).status_code == 401
    assert httpx.get(url, auth=("admin", "s3cret")).status_code == 200


def test_flower_refuses_to_start_without_credentials(broker: Stack) -> None:
    env = {**broker.env(), "FLOWER_BASIC_AUTH": ""}
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "worker.flower"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "FLOWER_BASIC_AUTH" in done.stderr
