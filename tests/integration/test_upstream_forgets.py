"""An upstream that forgets what the gateway still holds: restarted, wiped, a stored response
expired. The conversation goes on, rebuilt from the gateway's own record, in every history mode;
only where nothing is left to rebuild from does a job fail, with upstream_conversation_lost."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.harness import Stack, wait_until
from tests.integration.conftest import KINDS, chat, running, wait_for_job
from tests.integration.test_upstream_kinds import upstream_requests


def mode_of(stack: Stack) -> str:
    return KINDS[stack.kind][1]  # type: ignore[attr-defined]


def first_turn(stack: Stack, user: str) -> dict[str, Any]:
    with stack.client() as api:
        first = chat(api, user, "Hello, my name is Ada.")
        assert wait_for_job(api, first["id"], user)["status"] == "completed"
    return first


def next_turn(stack: Stack, user: str, conversation_id: str, message: str) -> dict[str, Any]:
    with stack.client() as api:
        job = chat(api, user, message, conversation_id=conversation_id)
        return wait_for_job(api, job["id"], user)


def rebuilds(stack: Stack, lost: str, outcome: str) -> float:
    """gateway_upstream_context_rebuilds_total{lost, outcome} from the worker's metrics."""
    body = httpx.get(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics").text
    series = f'gateway_upstream_context_rebuilds_total{{lost="{lost}",outcome="{outcome}"}} '
    for line in body.splitlines():
        if line.startswith(series):
            return float(line.removeprefix(series))
    return 0.0


def generations(stack: Stack, job_id: str) -> int:
    with stack.upstream() as upstream:
        return int(upstream.get("/_offline/stats").json()["responses_created_by_job"][job_id])


def reset_upstream(stack: Stack) -> None:
    """Wipe the upstream: every conversation and stored response forgotten (its capabilities,
    read from the environment at start, stay)."""
    with stack.upstream() as upstream:
        upstream.post("/_offline/reset").raise_for_status()


def test_a_restarted_upstream_continues_the_conversation(kind_stack: Stack) -> None:
    user = f"restart-{uuid.uuid4().hex[:6]}"
    first = first_turn(kind_stack, user)
    [first_request] = upstream_requests(kind_stack, [first["id"]])
    kind_stack.restart_upstream(kill=True)  # its request log is not state: it starts empty
    second = next_turn(kind_stack, user, first["conversation_id"], "What is my name?")
    assert second["status"] == "completed", second
    assert second["result"]["output_text"].startswith("[offline turn 2]")
    assert "Ada" in second["result"]["output_text"]
    [second_request] = upstream_requests(kind_stack, [second["id"]])
    # Nothing was rebuilt: the upstream still had it all.
    assert second_request["conversation"] == first_request["conversation"]
    if mode_of(kind_stack) == "previous_response":
        assert second_request["previous_response_id"] == first_request["response_id"]


def test_a_wiped_upstream_is_rebuilt_from_the_gateways_record(kind_stack: Stack) -> None:
    user = f"wiped-{uuid.uuid4().hex[:6]}"
    first = first_turn(kind_stack, user)
    conversation_id = first["conversation_id"]
    before = next_turn(kind_stack, user, conversation_id, "I live in Paris.")
    assert before["status"] == "completed"
    mode = mode_of(kind_stack)
    lost = {"conversations": "conversation", "previous_response": "previous_response"}.get(mode)
    rebuilt_before = rebuilds(kind_stack, lost, "rebuilt") if lost else 0.0

    reset_upstream(kind_stack)

    third = next_turn(kind_stack, user, conversation_id, "What is my name?")
    assert third["status"] == "completed", third
    assert third["result"]["output_text"].startswith("[offline turn 3]")
    assert "Ada" in third["result"]["output_text"]
    assert generations(kind_stack, third["id"]) == 1  # the refused call generated nothing
    fourth = next_turn(kind_stack, user, conversation_id, "What is my name again?")
    assert fourth["status"] == "completed", fourth
    assert fourth["result"]["output_text"].startswith("[offline turn 4]")
    third_requests = upstream_requests(kind_stack, [third["id"]])
    [fourth_request] = upstream_requests(kind_stack, [fourth["id"]])
    if mode == "conversations":
        refused, third_request = third_requests
        # A new upstream conversation, seeded with the first two turns, kept for later turns.
        assert refused["conversation"] != third_request["conversation"] is not None
        assert fourth_request["conversation"] == third_request["conversation"]
    elif mode == "previous_response":
        refused, third_request = third_requests
        assert third_request["previous_response_id"] is None  # the history went inline
        assert fourth_request["previous_response_id"] == third_request["response_id"]
    else:
        [third_request] = third_requests
    if lost:
        assert rebuilds(kind_stack, lost, "rebuilt") == rebuilt_before + 1
        assert "rebuilt from 4 recorded items" in kind_stack.processes["worker"].log()


def test_an_expired_response_in_a_previous_response_chain_is_rebuilt(kind_stack: Stack) -> None:
    if mode_of(kind_stack) != "previous_response":
        pytest.skip("chains responses only in previous_response mode")
    user = f"expired-{uuid.uuid4().hex[:6]}"
    first = first_turn(kind_stack, user)
    with kind_stack.client() as api:
        done = wait_for_job(api, first["id"], user)
    response_id = done["result"]["response_id"]
    with kind_stack.upstream() as upstream:  # past the upstream's retention of stored responses
        upstream.delete(
            f"/v1/responses/{response_id}", headers={"Authorization": "Bearer sk-test-offline-key"}
        ).raise_for_status()
    second = next_turn(kind_stack, user, first["conversation_id"], "What is my name?")
    assert second["status"] == "completed", second
    assert "Ada" in second["result"]["output_text"]
    assert second["result"]["output_text"].startswith("[offline turn 2]")


def test_a_conversation_with_nothing_left_to_rebuild_fails_with_its_own_code(
    kind_stack: Stack,
) -> None:
    if mode_of(kind_stack) == "local":
        pytest.skip("local mode keeps no context upstream: there is nothing to lose")
    user = f"purged-{uuid.uuid4().hex[:6]}"
    first = first_turn(kind_stack, user)
    engine = create_engine(kind_stack.database_url)
    try:
        with engine.begin() as connection:  # as the purge does past RETENTION_DAYS
            connection.execute(text("DELETE FROM jobs WHERE id = :id"), {"id": first["id"]})
    finally:
        engine.dispose()
    reset_upstream(kind_stack)
    second = next_turn(kind_stack, user, first["conversation_id"], "What is my name?")
    assert second["status"] == "failed"
    assert second["error"]["code"] == "upstream_conversation_lost"
    assert "start a new conversation" in second["error"]["message"]


@pytest.fixture(scope="module")
def streaming_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Upstream conversations without background mode: a create is a plain stream, whose
    response the upstream finishes (and adds to the conversation) after its client is gone."""
    with running(
        request, Stack(settings={"OFFLINE_OPENAI_CAPABILITIES": "background=false"})
    ) as stack:
        yield stack


def test_a_turn_run_again_after_its_worker_died_is_not_seen_twice(streaming_stack: Stack) -> None:
    """The dead attempt's create reached the upstream conversation and was answered there; the
    turn run again goes to a conversation rebuilt from the gateway's record, where it is the
    second turn still, not the third."""
    user = f"died-{uuid.uuid4().hex[:6]}"
    first = first_turn(streaming_stack, user)
    with streaming_stack.upstream() as upstream, streaming_stack.client() as api:
        upstream.put("/_offline/config", json={"latency_ms": 2000}).raise_for_status()
        try:
            job = chat(api, user, "What is my name?", conversation_id=first["conversation_id"])
            wait_until(
                lambda: upstream_requests(streaming_stack, [job["id"]]),
                what="the job's create to reach the upstream",
            )
            streaming_stack.processes["worker"].kill()
        finally:
            upstream.put("/_offline/config", json={"latency_ms": 0}).raise_for_status()
        streaming_stack.start_worker()
        done = wait_for_job(api, job["id"], user, timeout=45)
    assert done["status"] == "completed", done
    assert done["attempts"] == 2
    assert done["result"]["output_text"].startswith("[offline turn 2]"), done["result"]
    assert "Ada" in done["result"]["output_text"]
    died, again = upstream_requests(streaming_stack, [job["id"]])
    assert again["conversation"] != died["conversation"] is not None
    assert "an earlier attempt died in it" in streaming_stack.processes["worker"].log()
