"""Ops routes: live config, stats with the ordered request log, reset; start-up settings."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import openai
import pytest
from offline_helpers import MODEL, PROJECT_ROOT, wait_until
from openai import OpenAI

from offline_openai.config import ConfigError, OfflineConfig


def test_stats_count_responses_per_job(upstream: Any, client: OpenAI) -> None:
    client.responses.create(model=MODEL, input="a", metadata={"job_id": "job_a"})
    client.responses.create(model=MODEL, input="b", metadata={"job_id": "job_a"})
    client.responses.create(model=MODEL, input="c", metadata={"job_id": "job_b"})
    client.responses.create(model=MODEL, input="d")

    stats = upstream.stats()
    assert stats["responses_created"] == 4
    assert stats["responses_created_by_job"] == {"job_a": 2, "job_b": 1}


def test_request_log_keeps_the_order_and_fields(upstream: Any, client: OpenAI) -> None:
    conversation = client.conversations.create()
    first = client.responses.create(
        model=MODEL, input="first", conversation=conversation.id, metadata={"job_id": "j1"}
    )
    client.responses.create(
        model=MODEL,
        input=[{"role": "user", "content": [{"type": "input_text", "text": "second"}]}],
        previous_response_id=first.id,
        metadata={"job_id": "j2"},
        stream=True,
    ).close()
    client.responses.create(model=MODEL, input="third", background=True)
    wait_until(lambda: len(upstream.stats()["requests"]) == 3)

    log = upstream.stats()["requests"]
    assert [entry["input_text"] for entry in log] == ["first", "second", "third"]
    assert [entry["job_id"] for entry in log] == ["j1", "j2", None]
    assert log[0]["conversation"] == conversation.id
    assert log[1]["previous_response_id"] == first.id
    assert [entry["stream"] for entry in log] == [False, True, False]
    assert [entry["background"] for entry in log] == [False, False, True]
    assert log[0]["response_id"] == first.id
    assert log[0]["received_at"] <= log[1]["received_at"] <= log[2]["received_at"]
    # Like OpenAI's servers, the upstream keeps a connection open for the client's next call.
    assert log[0]["client_port"] is not None and log[0]["client_port"] == log[1]["client_port"]


def test_rejected_requests_are_logged_but_not_counted(upstream: Any, client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="invalid-x", input="nope")
    stats = upstream.stats()
    assert stats["responses_created"] == 0
    assert stats["requests"][0]["input_text"] == "nope"
    assert stats["requests"][0]["response_id"] is None


def test_config_accepts_partial_updates(upstream: Any) -> None:
    upstream.configure(faults={"429": 0.25})
    config = upstream.configure(faults={"500": 0.5}, capabilities={"retrieve": False})

    assert config["faults"] == {"429": 0.25, "500": 0.5, "drop": 0.0}
    assert config["capabilities"]["retrieve"] is False
    assert config["capabilities"]["conversations"] is True
    assert upstream.ops("GET", "/_offline/config").json() == config


@pytest.mark.parametrize(
    "patch",
    [
        {"latency_ms": -1},
        {"latency_ms": "fast"},
        {"faults": {"429": 1.5}},
        {"faults": {"404": 0.1}},
        {"faults": {"429": 0.6, "500": 0.6}},
        {"hang": "yes"},
        {"capabilities": {"teleport": True}},
        {"capabilities": {"retrieve": "no"}},
        {"api_key": 42},
        {"colour": "blue"},
    ],
)
def test_config_rejects_bad_values(upstream: Any, patch: dict[str, Any]) -> None:
    answer = upstream.ops("PUT", "/_offline/config", json=patch)
    assert answer.status_code == 400
    assert "message" in answer.json()["error"]
    assert upstream.ops("GET", "/_offline/config").json()["latency_ms"] == 0


def test_reset_clears_state_stats_and_config(upstream: Any, client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="x", metadata={"job_id": "j"})
    upstream.configure(latency_ms=5, hang=False, faults={"500": 0.1})

    assert upstream.ops("POST", "/_offline/reset").status_code == 200
    stats = upstream.stats()
    assert stats["responses_created"] == 0 and stats["requests"] == []
    assert upstream.ops("GET", "/_offline/config").json()["latency_ms"] == 0
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_environment_sets_the_start_up_config() -> None:
    config = OfflineConfig.from_env(
        {
            "OFFLINE_OPENAI_LATENCY_MS": "25",
            "OFFLINE_OPENAI_FAULTS": "429=0.3, 500=0.1,drop=0.05",
            "OFFLINE_OPENAI_CAPABILITIES": "conversations=false,retrieve=false",
            "OFFLINE_OPENAI_API_KEY": "sk-test",
        }
    )
    assert config.latency_ms == 25
    assert dict(config.faults) == {"429": 0.3, "500": 0.1, "drop": 0.05}
    assert config.allows("background") and not config.allows("conversations")
    assert config.api_key == "sk-test"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OFFLINE_OPENAI_LATENCY_MS", "soon"),
        ("OFFLINE_OPENAI_FAULTS", "429=lots"),
        ("OFFLINE_OPENAI_FAULTS", "503=0.1"),
        ("OFFLINE_OPENAI_CAPABILITIES", "retrieve=maybe"),
        ("OFFLINE_OPENAI_PORT", "http"),
    ],
)
def test_bad_environment_values_name_the_variable(name: str, value: str) -> None:
    if name != "OFFLINE_OPENAI_PORT":
        with pytest.raises(ConfigError) as caught:
            OfflineConfig.from_env({name: value})
        assert caught.value.name == name
    finished = subprocess.run(
        [sys.executable, "-m", "offline_openai"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", name: value},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert finished.returncode != 0
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0]
