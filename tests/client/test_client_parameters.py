"""The client's create parameters: keyword arguments of `chat` and `respond`, sync and async,
sent as body fields (over httpx.MockTransport); the CLI's flags against a real stack."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from client import AsyncGateway, Gateway
from tests.create_parameters import EVERY_PARAMETER
from tests.harness import Stack

JOB = {"id": "job_1", "object": "job", "status": "queued", "conversation_id": "conv_1"}
GATEWAY_BIN = str(Path(sys.executable).parent / "gateway")


def sent_bodies() -> tuple[httpx.MockTransport, list[dict[str, Any]]]:
    bodies: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(202, json=JOB)

    return httpx.MockTransport(handle), bodies


def test_chat_and_respond_send_the_keyword_arguments() -> None:
    transport, bodies = sent_bodies()
    with Gateway("http://gw", "tok", transport=transport) as gw:
        gw.chat("hi", tools=["get_weather"], **EVERY_PARAMETER)
        gw.respond("hi", tools=["get_weather"], include=("reasoning.encrypted_content",))
    assert {name: bodies[0][name] for name in EVERY_PARAMETER} == EVERY_PARAMETER
    assert bodies[1]["include"] == ["reasoning.encrypted_content"]
    assert "temperature" not in bodies[1]


def test_the_async_twin_sends_them_too() -> None:
    transport, bodies = sent_bodies()

    async def run() -> None:
        async with AsyncGateway("http://gw", "tok", transport=transport) as gw:
            await gw.chat("hi", temperature=0.1, max_output_tokens=32)
            await gw.respond("hi", top_p=0.5, tool_choice="none")

    asyncio.run(run())
    assert (bodies[0]["temperature"], bodies[0]["max_output_tokens"]) == (0.1, 32)
    assert (bodies[1]["top_p"], bodies[1]["tool_choice"]) == (0.5, "none")


def test_a_webhook_url_is_sent_by_chat_and_respond_sync_and_async() -> None:
    transport, bodies = sent_bodies()
    hook = "https://hooks.example.com/gateway"
    with Gateway("http://gw", "tok", transport=transport) as gw:
        gw.chat("hi", webhook_url=hook)
        gw.respond("hi", webhook_url=hook)
        gw.chat("no hook")

    async def run() -> None:
        async with AsyncGateway("http://gw", "tok", transport=transport) as gw:
            await gw.chat("hi", webhook_url=hook)
            await gw.respond("hi", webhook_url=hook)

    asyncio.run(run())
    assert [body.get("webhook_url") for body in bodies] == [hook, hook, None, hook, hook]


def test_deliveries_and_redeliver_name_the_job_sync_and_async() -> None:
    seen: list[tuple[str, str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.method == "GET":
            return httpx.Response(200, json={"object": "list", "data": [], "has_more": False})
        return httpx.Response(202, json={"id": "msg_1", "object": "webhook.delivery"})

    transport = httpx.MockTransport(handle)
    with Gateway("http://gw", "tok", transport=transport) as gw:
        assert len(gw.deliveries("job_1")) == 0
        assert gw.redeliver("job_1")["object"] == "webhook.delivery"

    async def run() -> None:
        async with AsyncGateway("http://gw", "tok", transport=transport) as gw:
            await gw.deliveries("job_2")
            await gw.redeliver("job_2")

    asyncio.run(run())
    assert seen == [
        ("GET", "/v1/jobs/job_1/deliveries"),
        ("POST", "/v1/jobs/job_1/deliveries/redeliver"),
        ("GET", "/v1/jobs/job_2/deliveries"),
        ("POST", "/v1/jobs/job_2/deliveries/redeliver"),
    ]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    running = Stack(settings={"ALLOWED_MODELS": "gpt-4o"}).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.integration
def test_cli_chat_flags_reach_the_upstream(stack: Stack) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    command = [
        *(GATEWAY_BIN, "chat", "hello there", "--json"),
        *("--max-output-tokens", "77", "--temperature", "0.4", "--model", "gpt-4o"),
        *("--url", stack.api_url, "--token", stack.token, "--user", "cli-parameters"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["status"] == "completed", job
    with stack.upstream() as upstream:
        log = upstream.get("/_offline/stats").json()["requests"]
    [call] = [entry for entry in log if entry["job_id"] == job["id"]]
    sent = (call["params"]["max_output_tokens"], call["params"]["temperature"], call["model"])
    assert sent == (77, 0.4, "gpt-4o")


@pytest.mark.integration
def test_cli_chat_sends_its_webhook_url(stack: Stack) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    command = [
        *(GATEWAY_BIN, "chat", "hello there", "--webhook-url", "http://hooks.example.com/x"),
        *("--url", stack.api_url, "--token", stack.token, "--user", "cli-parameters"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    # Refused by the gateway's target rules (https only): the flag reached the API.
    assert done.returncode == 1, done
    assert "(invalid_webhook_url)" in done.stderr, done.stderr
