"""The operators' commands (`flask --app api ...`) against a real stack: each one's effect is
checked through the HTTP API, Redis or the database, not only its output."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, update

from shared.models import Conversation
from tests.harness import ROOT, VENV_BIN, Stack
from tests.integration.conftest import DATABASES, chat, wait_for_job

# The session's stack, on one database: PostgreSQL when there is one (what compose runs). The
# commands are the same queries on either; each call is a process of its own, so once is enough.
pytestmark = pytest.mark.parametrize("stack", DATABASES[-1:], indirect=True)


@pytest.fixture()
def admin_stack(stack: Stack) -> Stack:
    """The session's stack: these tests leave it as they found it."""
    return stack


def age_conversation(stack: Stack, conversation_id: str, idle_for: timedelta) -> None:
    """As if nothing had touched the conversation for `idle_for`."""
    engine = create_engine(stack.database_url)
    with engine.begin() as connection:
        connection.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_active_at=datetime.now(UTC) - idle_for)
        )
    engine.dispose()


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


@contextmanager
def without_beat(stack: Stack) -> Iterator[None]:
    """No sweep or reconciler acts behind the test's back."""
    stack.processes["beat"].stop()
    try:
        yield
    finally:
        stack.start_beat()


def test_queues_stuck_jobs_and_resending_one(admin_stack: Stack) -> None:
    stack = admin_stack
    before = backlog(stack)
    with without_beat(stack), stack.client() as api:
        stack.processes["worker"].stop()
        try:
            users = [f"ops-{uuid.uuid4().hex[:6]}" for _ in range(2)]
            jobs = [chat(api, user, "waiting")["id"] for user in users]
            counts = backlog(stack)
            assert counts["broker"]["jobs"] == before["broker"]["jobs"] + 2
            assert counts["queued_jobs"]["sent"] == before["queued_jobs"]["sent"] + 2
            assert counts["active_jobs"]["queued"] == before["active_jobs"]["queued"] + 2

            broker = redis.Redis.from_url(stack.redis_url)
            broker.delete("jobs")  # the messages are lost
            stuck = json.loads(stack.flask("jobs", "stuck", "--older-than", "0", "--json"))
            assert {row["id"]: row["queue_state"] for row in stuck if row["id"] in jobs} == {
                job_id: "sent" for job_id in jobs
            }
            recent = json.loads(stack.flask("jobs", "stuck", "--older-than", "3600", "--json"))
            assert not {row["id"] for row in recent} & set(jobs)

            assert stack.flask("jobs", "resend", jobs[0]) == f"sent {jobs[0]}"
            assert broker.llen("jobs") == 1
            assert "not_found" in refused(stack, "jobs", "resend", "job_missing")
        finally:
            stack.start_worker()
        assert wait_for_job(api, jobs[0], users[0])["status"] == "completed"
        assert "job_not_queued" in refused(stack, "jobs", "resend", jobs[0])
        waiting = api.get(f"/v1/jobs/{jobs[1]}", params={"user_id": users[1]}).json()
        assert waiting["status"] == "queued"  # its message is lost until the reconciler's re-send


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
    with without_beat(admin_stack), admin_stack.client() as api:
        user = f"ops-{uuid.uuid4().hex[:6]}"
        job = wait_for_job(api, chat(api, user, "soon idle")["id"], user)
        conversation = f"/v1/conversations/{job['conversation_id']}"
        age_conversation(admin_stack, job["conversation_id"], timedelta(hours=1))  # past the TTL
        assert api.get(conversation, params={"user_id": user}).json()["status"] == "active"
        assert admin_stack.flask("maintenance", "expire") == "expired 1 conversations"
        assert api.get(conversation, params={"user_id": user}).json()["status"] == "expired"
        # Past RETENTION_DAYS (30) too: the purge deletes it, and the job that ran in it.
        age_conversation(admin_stack, job["conversation_id"], timedelta(days=31))
        purged = admin_stack.flask("maintenance", "purge")
        assert purged.endswith(" 1 conversations"), purged
        assert api.get(conversation, params={"user_id": user}).status_code == 404
    reconciled = admin_stack.flask("maintenance", "reconcile")
    assert reconciled.startswith("requeued 0, resent "), reconciled


def test_every_command_is_listed_in_help(admin_stack: Stack) -> None:
    listed = admin_stack.flask("--help")
    for command in ("tokens", "users", "maintenance", "queues", "jobs", "conversations"):
        assert f"  {command} " in listed
