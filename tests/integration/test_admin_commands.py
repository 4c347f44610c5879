"""The operators' commands (`flask --app api ...`) against a real stack: each one's effect is
checked through the HTTP API, Redis or the database, not only its output."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.harness import ROOT, VENV_BIN, Stack
from tests.integration.conftest import DATABASES, chat, running, wait_for_job

# Conversations go idle after 1.2 s, but only the command sweeps them (beat's sweep is hourly).
SETTINGS = {"CONVERSATION_TTL_MINUTES": "0.02", "EXPIRY_SWEEP_SECONDS": "3600"}


@pytest.fixture(scope="module", params=DATABASES)
def admin_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with running(request, Stack(database=request.param, settings=SETTINGS)) as stack:
        yield stack


def refused(stack: Stack, *args: str) -> str:
    """Run a command that must fail; answer its error line."""
    done = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "api", *args],
        env=stack.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done
    return done.stderr


def backlog(stack: Stack) -> dict[str, dict[str, int]]:
    return json.loads(stack.flask("queues", "--json"))  # type: ignore[no-any-return]


def test_queues_stuck_jobs_and_resending_one(admin_stack: Stack) -> None:
    stack = admin_stack
    stack.processes["worker"].stop()
    stack.processes["beat"].stop()  # no reconciler re-sending behind the test's back
    try:
        with stack.client() as api:
            users = [f"ops-{uuid.uuid4().hex[:6]}" for _ in range(2)]
            jobs = [chat(api, user, "waiting")["id"] for user in users]
            assert backlog(stack)["broker"]["jobs"] == 2
            counts = backlog(stack)
            assert counts["queued_jobs"]["sent"] == 2
            assert counts["active_jobs"]["queued"] == 2

            redis.Redis.from_url(stack.redis_url).delete("jobs")  # the messages are lost
            assert backlog(stack)["broker"]["jobs"] == 0
            stuck = json.loads(stack.flask("jobs", "stuck", "--older-than", "0", "--json"))
            assert {row["id"] for row in stuck} == set(jobs)
            assert all(row["queue_state"] == "sent" for row in stuck)
            assert json.loads(stack.flask("jobs", "stuck", "--older-than", "3600", "--json")) == []

            assert stack.flask("jobs", "resend", jobs[0]) == f"sent {jobs[0]}"
            assert backlog(stack)["broker"]["jobs"] == 1
            assert "not_found" in refused(stack, "jobs", "resend", "job_missing")

            stack.start_worker()
            assert wait_for_job(api, jobs[0], users[0])["status"] == "completed"
            assert "job_not_queued" in refused(stack, "jobs", "resend", jobs[0])
            waiting = api.get(f"/v1/jobs/{jobs[1]}", params={"user_id": users[1]}).json()
            assert waiting["status"] == "queued"
    finally:
        if stack.processes["worker"].popen.poll() is not None:  # type: ignore[union-attr]
            stack.start_worker()
        stack.start_beat()
    with stack.client() as api:  # beat's reconciler sends the other one again
        assert wait_for_job(api, jobs[1], users[1])["status"] == "completed"


def test_export_a_conversation_as_json(admin_stack: Stack, tmp_path: Path) -> None:
    with admin_stack.client() as api:
        user = f"ops-{uuid.uuid4().hex[:6]}"
        first = wait_for_job(api, chat(api, user, "My name is Ada")["id"], user)
        conversation_id = first["conversation_id"]
        second = chat(api, user, "What is my name?", conversation_id=conversation_id)
        second = wait_for_job(api, second["id"], user)
    document = json.loads(admin_stack.flask("conversations", "export", conversation_id))
    assert (document["id"], document["user_id"]) == (conversation_id, user)
    assert [job["id"] for job in document["jobs"]] == [first["id"], second["id"]]
    assert document["jobs"][0]["request"]["message"] == "My name is Ada"
    assert [r["id"] for r in document["responses"]] == [
        first["result"]["response_id"],
        second["result"]["response_id"],
    ]
    assert document["responses"][1]["output_text"] == second["result"]["output_text"]
    target = tmp_path / "conversation.json"
    admin_stack.flask("conversations", "export", conversation_id, "--output", str(target))
    assert json.loads(target.read_text())["jobs"] == document["jobs"]
    assert "not_found" in refused(admin_stack, "conversations", "export", "conv_missing")


def test_the_sweeps_run_on_demand(admin_stack: Stack) -> None:
    with admin_stack.client() as api:
        user = f"ops-{uuid.uuid4().hex[:6]}"
        job = wait_for_job(api, chat(api, user, "soon idle")["id"], user)
        conversation = f"/v1/conversations/{job['conversation_id']}"
        time.sleep(1.5)  # past the 1.2 s TTL
        assert api.get(conversation, params={"user_id": user}).json()["status"] == "active"
        expired = admin_stack.flask("maintenance", "expire")
        assert expired.startswith("expired ") and int(expired.split()[1]) >= 1
        assert api.get(conversation, params={"user_id": user}).json()["status"] == "expired"
    assert admin_stack.flask("maintenance", "expire") == "expired 0 conversations"
    assert admin_stack.flask("maintenance", "reconcile") == "requeued 0, resent 0, failed 0"
    # Nothing is older than RETENTION_DAYS (30 days) yet.
    assert admin_stack.flask("maintenance", "purge") == "purged 0 jobs, 0 conversations"


def test_every_command_is_listed_in_help(admin_stack: Stack) -> None:
    listed = admin_stack.flask("--help")
    for command in ("tokens", "users", "maintenance", "queues", "jobs", "conversations"):
        assert f"  {command} " in listed
