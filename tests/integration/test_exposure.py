"""Safe when exposed, with real processes: gunicorn refuses a guessable BOOTSTRAP_TOKEN, and the
metrics of the API, the worker and beat answer only METRICS_TOKEN, or loopback without one."""

from __future__ import annotations

import ipaddress
import secrets
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from shared.core.secret_rules import HOW_TO_MAKE_ONE, MIN_SECRET_LENGTH
from tests.harness import ROOT, VENV_BIN, Process, Stack, wait_until
from tests.integration.conftest import DATABASES, running

PLACEHOLDERS = ["change-me", "changeme", "secret", "token", "password", "test", "admin"]
SHORT = "Zq8xT3mV9kLp2RwY7nB4cF6hJ1dG5sA"  # random, but one character short
METRICS_TOKEN = secrets.token_urlsafe(32)


def gunicorn(bind: str) -> list[str]:
    return [
        str(VENV_BIN / "gunicorn"),
        "-c",
        "python:api.gunicorn_config",
        "--bind",
        bind,
        "--workers",
        "1",
        "api:create_app()",
    ]


def outward_address() -> str:
    """An address of this machine that is not loopback: a request to it comes from it."""
    candidates = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    for probe in ("192.0.2.1", "10.255.255.255", "198.51.100.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.connect((probe, 9))  # a UDP connect sends nothing: it only picks a route
            except OSError:
                continue
            candidates.add(udp.getsockname()[0])
    outward = sorted(
        address
        for address in candidates
        if ipaddress.ip_address(address).version == 4
        and not ipaddress.ip_address(address).is_loopback
    )
    if not outward:
        pytest.skip("this machine has no address but loopback to call from")
    return outward[0]


@contextmanager
def api_alone(bind_host: str, settings: dict[str, str]) -> Iterator[Stack]:
    """The API under gunicorn by itself on `bind_host` (a migrated SQLite file, a redis-server)."""
    stack = Stack(settings=settings)
    try:
        stack.start_redis()
        env = stack.env()
        migrate = [str(VENV_BIN / "python"), "-m", "shared.core.migrate"]
        subprocess.run(migrate, env=env, cwd=ROOT, check=True, capture_output=True)
        bind = f"{bind_host}:{stack.api_port}"
        stack.processes["api"] = Process("api", gunicorn(bind), env, stack.workdir).start()
        url = f"{stack.api_url}/healthz"
        wait_until(lambda: httpx.get(url).status_code == 200, timeout=60, what="api")
        yield stack
    finally:
        stack.stop()


@pytest.mark.parametrize("token", [*PLACEHOLDERS, SHORT])
def test_the_api_refuses_to_start_with_a_guessable_token(token: str) -> None:
    stack = Stack(settings={"BOOTSTRAP_TOKEN": token})
    api = Process("api", gunicorn(f"127.0.0.1:{stack.api_port}"), stack.env(), stack.workdir)
    try:
        api.start()
        assert api.popen is not None
        assert api.popen.wait(60) != 0
        lines = [line for line in api.log().splitlines() if line.strip()]
        reason = (
            f"shorter than {MIN_SECRET_LENGTH} characters"
            if token == SHORT
            else "a well-known placeholder, not a secret"
        )
        # One line, naming the setting and how to make a good one.
        assert lines[-1] == f"invalid setting BOOTSTRAP_TOKEN: {reason}; {HOW_TO_MAKE_ONE}"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{stack.api_url}/healthz")
    finally:
        api.stop()
        stack.stop()


def test_the_api_starts_with_a_generated_token_and_keeps_metrics_on_loopback() -> None:
    outward = outward_address()
    token = secrets.token_urlsafe(32)
    with api_alone("0.0.0.0", {"BOOTSTRAP_TOKEN": token}) as stack:
        with stack.client(token) as api:
            jobs = api.get("/v1/jobs", params={"user_id": "exposed"})
            assert jobs.status_code == 200, jobs.text
            in_url = httpx.get(f"{stack.api_url}/v1/jobs", params={"access_token": token})
            assert in_url.status_code == 401
            assert in_url.json()["error"]["code"] == "token_in_url"
        assert httpx.get(f"{stack.api_url}/metrics").status_code == 200
        from_elsewhere = httpx.get(f"http://{outward}:{stack.api_port}/metrics")
        assert from_elsewhere.status_code == 403
        assert from_elsewhere.json()["error"]["code"] == "metrics_loopback_only"
        assert "gateway_" not in from_elsewhere.text


@pytest.fixture(scope="module", params=DATABASES[:1])
def tokened(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """A whole stack with METRICS_TOKEN, its worker's and beat's metrics on every interface."""
    settings = {"METRICS_TOKEN": METRICS_TOKEN, "BIND_HOST": "0.0.0.0"}
    with running(request, Stack(database=request.param, settings=settings)) as stack:
        yield stack


def test_with_a_metrics_token_the_api_worker_and_beat_answer_only_it(tokened: Stack) -> None:
    outward = outward_address()
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    endpoints = {
        "api": f"127.0.0.1:{tokened.api_port}",
        "worker": f"127.0.0.1:{tokened.worker_metrics_port}",
        "worker from elsewhere": f"{outward}:{tokened.worker_metrics_port}",
        "beat": f"127.0.0.1:{tokened.beat_metrics_port}",
        "beat from elsewhere": f"{outward}:{tokened.beat_metrics_port}",
    }
    for name, address in endpoints.items():
        url = f"http://{address}/metrics"
        for headers in ({}, {"Authorization": "Bearer " + METRICS_TOKEN[::-1]}):
            refused = httpx.get(url, headers=headers, timeout=10)
            assert refused.status_code == 401, name
            assert refused.json()["error"]["code"] == "invalid_metrics_token", name
            assert "gateway_" not in refused.text
        answered = httpx.get(url, headers=bearer, timeout=10)
        assert answered.status_code == 200, name
        assert "# TYPE gateway_" in answered.text, name
    assert (
        "gateway_queue_depth"
        in httpx.get(f"http://{endpoints['beat']}/metrics", headers=bearer, timeout=10).text
    )
