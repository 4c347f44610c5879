"""Beat at work: idle conversations expire without any request; lost jobs are sent again."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from sqlalchemy import create_engine, select

from shared.core.models import Job
from tests.harness import Stack, wait_until
from tests.integration.conftest import DATABASES, chat, running, wait_for_job


@pytest.fixture(scope="module", params=DATABASES)
def quick_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with running(
        request,
        Stack(
            database=request.param,
            # 9 s: long enough to see a conversation active after its job on a busy machine.
            settings={"CONVERSATION_TTL_MINUTES": "0.15", "EXPIRY_SWEEP_SECONDS": "1"},
        ),
    ) as stack:
        yield stack


def test_beat_expires_idle_conversations_and_submits_then_answer_409(quick_stack: Stack) -> None:
    user = f"ttl-{uuid.uuid4().hex[:6]}"
    with quick_stack.client() as api:
        job = chat(api, user, "short-lived")
        assert wait_for_job(api, job["id"], user)["status"] == "completed"
        conversation = f"/v1/conversations/{job['conversation_id']}"
        assert api.get(conversation, params={"user_id": user}).json()["status"] == "active"
        # No request touches the conversation: only beat's sweep can expire it.
        expired = wait_until(
            lambda: api.get(conversation, params={"user_id": user}).json()["status"] == "expired",
            timeout=30,
            interval=0.5,
            what="the expiry sweep",
        )
        assert expired
        body = api.get(conversation, params={"user_id": user}).json()
        assert body["expired_at"] is not None and body["expires_at"] is None
        refused = api.post(
            "/v1/chat",
            json={
                "message": "too late",
                "user_id": user,
                "conversation_id": job["conversation_id"],
            },
        )
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "conversation_expired"


def test_a_job_whose_message_was_lost_is_sent_again(quick_stack: Stack) -> None:
    user = f"lost-{uuid.uuid4().hex[:6]}"
    worker = quick_stack.processes["worker"]
    worker.stop()
    try:
        with quick_stack.client() as api:
            job = chat(api, user, "please do not lose me")
            # The broker forgets everything, as a Redis restart without persistence would.
            redis.Redis.from_url(quick_stack.redis_url).flushall()
            quick_stack.start_worker()
            done = wait_for_job(api, job["id"], user, timeout=30)
            assert done["status"] == "completed", done
            assert done["result"]["output_text"].startswith("[offline turn 1]")
    finally:
        if quick_stack.processes["worker"].popen.poll() is not None:  # type: ignore[union-attr]
            quick_stack.start_worker()


@pytest.mark.parametrize("upstream_forgot", [False, True], ids=["resumed", "upstream-wiped"])
def test_a_job_whose_worker_died_mid_run_is_finished_by_another(
    quick_stack: Stack, upstream_forgot: bool
) -> None:
    """The retry resumes the response the dead attempt started; where the upstream no longer
    has it, the retry asks again."""
    user = f"crash-{uuid.uuid4().hex[:6]}"
    with quick_stack.client() as api, httpx.Client(base_url=quick_stack.upstream_url) as upstream:
        upstream.put("/_offline/config", json={"latency_ms": 3000})
        try:
            job = chat(api, user, "survive a crash")
            # Killed once the upstream response's id is stored: what a retry resumes from.
            wait_until(
                lambda: _upstream_response_id(quick_stack, job["id"]) is not None,
                what="the job's upstream response to be recorded",
            )
            quick_stack.processes["worker"].kill()
            if upstream_forgot:
                upstream.post("/_offline/reset").raise_for_status()
            upstream.put("/_offline/config", json={"latency_ms": 0})
            started = time.monotonic()
            quick_stack.start_worker()
            done = wait_for_job(api, job["id"], user, timeout=45)
            assert done["status"] == "completed", done
            assert done["attempts"] == 2
            assert done["result"]["output_text"].startswith("[offline turn 1]")
            # Two leases (6 s each) at most, a worker's start and the rest: well under 40 s.
            assert time.monotonic() - started < 40
        finally:
            upstream.put("/_offline/config", json={"latency_ms": 0})
        history = api.get(
            f"/v1/conversations/{job['conversation_id']}/responses", params={"user_id": user}
        ).json()["data"]
        assert len(history) == 1
        by_job = upstream.get("/_offline/stats").json()["responses_created_by_job"]
        # Background mode: the retry resumed the same response (a wiped upstream counts anew).
        assert by_job[job["id"]] == 1


def _upstream_response_id(stack: Stack, job_id: str) -> str | None:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(Job.upstream_response_id).where(Job.id == job_id))
    finally:
        engine.dispose()
