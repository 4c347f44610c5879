"""Injected faults: 429 with Retry-After, 500, dropped connections, hanging, latency, API key."""

from __future__ import annotations

import threading
import time
from typing import Any

import openai
import pytest
from offline_helpers import MODEL
from openai import OpenAI


def test_429_carries_retry_after_and_a_rate_limit_body(upstream: Any, client: OpenAI) -> None:
    upstream.configure(faults={"429": 1.0})
    with pytest.raises(openai.RateLimitError) as caught:
        client.responses.create(model=MODEL, input="hi")

    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.response.headers["retry-after-ms"] == "1000"
    assert caught.value.code == "rate_limit_exceeded"
    assert upstream.stats()["responses_created"] == 0


def test_500_is_a_server_error(upstream: Any, client: OpenAI) -> None:
    upstream.configure(faults={"500": 1.0})
    with pytest.raises(openai.InternalServerError) as caught:
        client.conversations.create()
    assert caught.value.status_code == 500


def test_drop_closes_the_connection_without_an_answer(upstream: Any, client: OpenAI) -> None:
    upstream.configure(faults={"drop": 1.0})
    with pytest.raises(openai.APIConnectionError):
        client.responses.create(model=MODEL, input="hi")
    assert upstream.stats()["faults_injected"]["drop"] == 1


def test_sdk_retries_through_a_share_of_429s(upstream: Any) -> None:
    upstream.configure(faults={"429": 0.5}, retry_after_ms=5)
    patient = upstream.client(max_retries=30)
    for _ in range(10):
        assert patient.responses.create(model=MODEL, input="hi").status == "completed"
    stats = upstream.stats()
    assert stats["responses_created"] == 10
    assert stats["faults_injected"]["429"] > 0


def test_faults_spare_the_ops_routes(upstream: Any) -> None:
    upstream.configure(faults={"500": 0.5, "drop": 0.5}, hang=True)
    assert upstream.ops("GET", "/_offline/stats").status_code == 200
    assert upstream.ops("GET", "/_offline/config").json()["hang"] is True


def test_hang_blocks_until_released(upstream: Any, client: OpenAI) -> None:
    upstream.configure(hang=True)
    outcome: dict[str, Any] = {}

    def call() -> None:
        outcome["response"] = client.responses.create(model=MODEL, input="patience")

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.4)
    assert caller.is_alive()
    upstream.configure(hang=False)
    caller.join(timeout=5)

    assert not caller.is_alive()
    assert outcome["response"].status == "completed"


def test_hung_requests_end_when_the_client_gives_up(upstream: Any) -> None:
    upstream.configure(hang=True)
    impatient = upstream.client(timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        impatient.responses.create(model=MODEL, input="hi")
    upstream.configure(hang=False)
    time.sleep(0.2)
    assert upstream.stats()["responses_created"] == 0


def test_latency_delays_every_generation(upstream: Any, client: OpenAI) -> None:
    upstream.configure(latency_ms=800)
    started = time.monotonic()
    client.responses.create(model=MODEL, input="slowly")
    assert time.monotonic() - started >= 0.8
    started = time.monotonic()
    client.conversations.create()
    assert time.monotonic() - started < 0.5


def test_configured_api_key_rejects_other_keys(upstream: Any) -> None:
    upstream.configure(api_key="sk-right-key")
    with pytest.raises(openai.AuthenticationError) as caught:
        upstream.client(api_key="sk-wrong-key").responses.create(model=MODEL, input="hi")
    assert caught.value.code == "invalid_api_key"
    ok = upstream.client(api_key="sk-right-key").responses.create(model=MODEL, input="hi")
    assert ok.status == "completed"


def test_a_thousand_slow_requests_are_served_concurrently(upstream: Any) -> None:
    upstream.configure(latency_ms=1000)
    patient = upstream.client(timeout=30)
    results: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        status = patient.responses.create(model=MODEL, input="together").status
        with lock:
            results.append(status)

    callers = [threading.Thread(target=call) for _ in range(1000)]
    started = time.monotonic()
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=30)
    assert results == ["completed"] * 1000
    assert time.monotonic() - started < 15  # one at a time would take 1,000 s
