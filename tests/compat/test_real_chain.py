"""The gateway against a real third-party chain (issue 7, item 4): our HTTP API, a Celery worker
that probes the upstream, LiteLLM bridging the Responses API to chat completions, and llama.cpp's
server generating with Gemma 3 270M. Checks are made on what the model server received and
answered (the recording proxy), never on the model's prose. Run by `make test-compat` only.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.compat.chain import LocalChain
from tests.compat.gateway import (
    TERMINAL,
    chat,
    get_job,
    probe_report,
    read_events,
    wait_for_job,
)
from tests.compat.recording_proxy import Exchange
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.timeout(900)

SHORT = "Answer in one short sentence."
LONG_STORY = (
    "Write a very long story, at least three thousand words, about a dragon who guards a "
    "queue of travellers. Describe every traveller in detail, one paragraph each."
)
UPSTREAM_FAILURES = {"upstream_error", "upstream_timeout"}


@pytest.fixture(scope="module")
def chain(request: pytest.FixtureRequest) -> Iterator[LocalChain]:
    with LocalChain() as running:
        yield running
        if request.session.testsfailed:
            print(running.logs())


@pytest.fixture(scope="module")
def stack(chain: LocalChain, request: pytest.FixtureRequest) -> Iterator[Stack]:
    settings = {
        **chain.gateway_settings(),
        "OPENAI_TIMEOUT_SECONDS": "120",
        "OPENAI_MAX_RETRIES": "1",
        "UPSTREAM_HISTORY": "auto",
        "RATE_LIMIT": "100000/minute",
    }
    running = Stack(settings=settings, worker_concurrency=4).start()
    try:
        yield running
    finally:
        if request.session.testsfailed:
            print(running.logs())
        running.stop()


@pytest.fixture()
def api(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        client.timeout = httpx.Timeout(180)
        yield client


def new_user() -> str:
    return f"compat-{uuid.uuid4().hex[:8]}"


def generated(api: httpx.Client, user: str, job_id: str) -> str:
    """The text a job has produced so far (a poll shows it while the job runs)."""
    return str((get_job(api, user, job_id)["result"] or {}).get("output_text") or "")


def the_call(chain: LocalChain, since: int, text: str) -> Exchange:
    """The one chat completion since `since` whose last message is the user's `text`."""
    found = [
        e
        for e in chain.proxy.chat_completions(since)
        if e.messages and text in str(e.messages[-1].get("content"))
    ]
    assert len(found) == 1, [e.body for e in chain.proxy.chat_completions(since)]
    return found[0]


def test_auto_picks_previous_response_history(
    chain: LocalChain, stack: Stack, api: httpx.Client
) -> None:
    user = new_user()
    job = wait_for_job(api, user, chat(api, user, f"Say hello. {SHORT}")["id"])
    assert job["status"] == "completed", job
    line = wait_until(
        lambda: re.search(r"upstream capabilities: (.*)", stack.processes["worker"].log()),
        timeout=10,
        what="the worker's probe result in its log",
    ).group(1)
    picked = "conversations=False" in line and "previous_response=True" in line
    report = "" if picked else probe_report(**_probe_target(chain))
    assert picked, f"worker found {line}; the proxy answered the probe calls: {report}"


def _probe_target(chain: LocalChain) -> dict[str, Any]:
    settings = chain.gateway_settings()
    return {
        "base_url": settings["OPENAI_BASE_URL"],
        "api_key": settings["OPENAI_API_KEY"],
        "model": settings["OPENAI_MODEL"],
    }


def test_second_turn_carries_the_first_and_results_hold_the_model_text(
    chain: LocalChain, api: httpx.Client
) -> None:
    user = new_user()
    first_text = f"My name is Ada Quillfeather. {SHORT}"
    second_text = f"What is my name? {SHORT}"
    mark = chain.proxy.mark()
    first = wait_for_job(api, user, chat(api, user, first_text)["id"])
    assert first["status"] == "completed", first
    second_job = chat(api, user, second_text, conversation_id=first["conversation_id"])
    second = wait_for_job(api, user, second_job["id"])
    assert second["status"] == "completed", second

    first_call = the_call(chain, mark, first_text)
    second_call = the_call(chain, mark, second_text)
    # The second upstream request carries the whole first turn: its question and the answer.
    roles = [(m.get("role"), str(m.get("content"))) for m in second_call.messages]
    assert ("user", first_text) in roles, roles
    assert any(role == "assistant" and first_call.answer in said for role, said in roles), roles
    # Each job's result is the model's text exactly as the model server produced it.
    assert first_call.answer, first_call
    assert first["result"]["output_text"] == first_call.answer
    assert second["result"]["output_text"] == second_call.answer
    history = api.get(
        f"/v1/conversations/{first['conversation_id']}/responses", params={"user_id": user}
    ).json()["data"]
    assert [r["output_text"] for r in history] == [first_call.answer, second_call.answer]


def test_stream_events_relay_the_model_text(chain: LocalChain, api: httpx.Client) -> None:
    user = new_user()
    text = f"Name three colours of the sky. {SHORT}"
    mark = chain.proxy.mark()
    job = chat(api, user, text)
    events = read_events(api, user, job["id"])
    done = wait_for_job(api, user, job["id"])
    assert done["status"] == "completed", done
    deltas = [data["delta"] for name, data in events if name == "output_text.delta"]
    assert len(deltas) > 1, events
    assert "".join(deltas) == done["result"]["output_text"] == the_call(chain, mark, text).answer
    assert events[-1][0] == "status" and events[-1][1]["status"] == "completed", events[-1]


def test_cancel_a_running_job(chain: LocalChain, api: httpx.Client) -> None:
    user = new_user()
    mark = chain.proxy.mark()
    job = chat(api, user, LONG_STORY)
    wait_until(
        lambda: len(generated(api, user, job["id"])) > 20,
        timeout=120,
        interval=0.2,
        what="the story to be generating",
    )
    started = time.monotonic()
    cancelled = api.post(f"/v1/jobs/{job['id']}/cancel", json={"user_id": user})
    assert cancelled.status_code == 200, cancelled.text
    done = wait_for_job(api, user, job["id"], timeout=10)
    took = time.monotonic() - started
    assert done["status"] == "cancelled", done
    assert took < 3, f"cancel took {took:.1f} s"
    # The model server stops too: its client (LiteLLM) went away, or it ended on its own.
    call = the_call(chain, mark, LONG_STORY)
    wait_until(lambda: call.ended, timeout=30, what="the model server to stop generating")


def test_proxy_stopped_mid_run_fails_jobs_then_recovers(
    chain: LocalChain, api: httpx.Client
) -> None:
    user = new_user()
    jobs = [chat(api, user, f"{LONG_STORY} Story number {n}.") for n in range(3)]
    wait_until(
        lambda: any(generated(api, user, j["id"]) for j in jobs),
        timeout=120,
        interval=0.2,
        what="a story to be generating",
    )
    chain.stop_litellm()
    try:
        finals = [wait_for_job(api, user, j["id"], timeout=120) for j in jobs]
    finally:
        chain.start_litellm()
    assert all(f["status"] in TERMINAL for f in finals), finals  # none stuck
    failed = [f for f in finals if f["status"] != "completed"]
    assert failed, finals
    for job in failed:
        assert job["status"] == "failed", job
        assert job["error"]["code"] in UPSTREAM_FAILURES, job["error"]
    # Once the proxy is back, a new job goes through.
    again = wait_for_job(api, user, chat(api, user, f"Say hello. {SHORT}")["id"])
    assert again["status"] == "completed", again
    assert again["result"]["output_text"]
