"""The operators' commands (`flask --app api ...`) against a real stack: each one's effect is
checked through the HTTP API, Redis or the database, not only its output."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


def stuck_jobs(stack: Stack, older_than: float) -> list[dict[str, Any]]:
    listed = stack.flask("jobs", "stuck", "--older-than", str(older_than), "--json")
    return json.loads(listed)  # type: ignore[no-any-return]


def at_once(*commands: Callable[[], Any]) -> list[Any]:
    """Run independent commands side by side: each one pays seconds of imports."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return [future.result() for future in [pool.submit(command) for command in commands]]


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
            firsts = [chat(api, user, "waiting") for user in users]
            jobs = [job["id"] for job in firsts]
            conversation_id = firsts[0]["conversation_id"]
            blocked = chat(api, users[0], "next", conversation_id=conversation_id)["id"]
            counts, stuck, recent = at_once(
                lambda: backlog(stack),
                lambda: stuck_jobs(stack, older_than=0),
                lambda: stuck_jobs(stack, older_than=3600),
            )
            assert counts["broker"]["jobs"] == before["broker"]["jobs"] + 2
            assert counts["queued_jobs"]["sent"] == before["queued_jobs"]["sent"] + 2
            assert counts["queued_jobs"]["blocked"] == before["queued_jobs"]["blocked"] + 1
            assert counts["active_jobs"]["queued"] == before["active_jobs"]["queued"] + 3
            assert {row["id"]: row["queue_state"] for row in stuck if row["id"] in jobs} == {
                job_id: "sent" for job_id in jobs
            }
            assert blocked not in {row["id"] for row in stuck}
            assert not {row["id"] for row in recent} & set(jobs)

            broker = redis.Redis.from_url(stack.redis_url)
            broker.delete("jobs")  # the messages are lost
            sent, missing, waiting = at_once(
                lambda: stack.flask("jobs", "resend", jobs[0]),
                lambda: refused(stack, "jobs", "resend", "job_missing"),
                lambda: refused(stack, "jobs", "resend", blocked),
            )
            assert sent == f"sent {jobs[0]}"
            assert broker.llen("jobs") == 1
            assert "not_found" in missing
            assert "job_blocked" in waiting
        finally:
            stack.start_worker()
        assert wait_for_job(api, jobs[0], users[0])["status"] == "completed"
        assert wait_for_job(api, blocked, users[0])["status"] == "completed"  # next in line
        lost = api.get(f"/v1/jobs/{jobs[1]}", params={"user_id": users[1]}).json()
        assert lost["status"] == "queued"  # its message is still lost
    with stack.client() as api:
        finished, resent = at_once(
            lambda: refused(stack, "jobs", "resend", jobs[0]),
            lambda: wait_for_job(api, jobs[1], users[1]),  # beat's reconciler sends it again
        )
    assert "job_not_queued" in finished
    assert resent["status"] == "completed"


def test_export_a_conversation_as_json(admin_stack: Stack, tmp_path: Path) -> None:
    with admin_stack.client() as api:
        user = f"ops-{uuid.uuid4().hex[:6]}"
        first = wait_for_job(api, chat(api, user, "My name is Ada")["id"], user)
        conversation_id = first["conversation_id"]
        second = chat(api, user, "What is my name?", conversation_id=conversation_id)
        second = wait_for_job(api, second["id"], user)
    target = tmp_path / "conversation.json"
    printed, wrote, missing = at_once(
        lambda: admin_stack.flask("conversations", "export", conversation_id),
        lambda: admin_stack.flask(
            "conversations", "export", conversation_id, "--output", str(target)
        ),
        lambda: refused(admin_stack, "conversations", "export", "conv_missing"),
    )
    document = json.loads(printed)
    assert (document["id"], document["user_id"]) == (conversation_id, user)
    assert [job["id"] for job in document["jobs"]] == [first["id"], second["id"]]
    assert document["jobs"][0]["request"]["message"] == "My name is Ada"
    assert [r["id"] for r in document["responses"]] == [
        first["result"]["response_id"],
        second["result"]["response_id"],
    ]
    assert document["responses"][1]["output_text"] == second["result"]["output_text"]
    assert wrote == f"wrote {target}"
    assert json.loads(target.read_text())["jobs"] == document["jobs"]
    assert "not_found" in missing


def test_the_sweeps_run_on_demand(admin_stack: Stack) -> None:
    with without_beat(admin_stack), admin_stack.client() as api:
        user = f"ops-{uuid.uuid4().hex[:6]}"
        job = wait_for_job(api, chat(api, user, "soon idle")["id"], user)
        conversation = f"/v1/conversations/{job['conversation_id']}"
        age_conversation(admin_stack, job["conversation_id"], timedelta(hours=1))  # past the TTL
        assert api.get(conversation, params={"user_id": user}).json()["status"] == "active"
        expired, reconciled = at_once(
            lambda: admin_stack.flask("maintenance", "expire"),
            lambda: admin_stack.flask("maintenance", "reconcile"),
        )
        assert expired == "expired 1 conversations"
        assert reconciled.startswith("requeued 0, resent "), reconciled  # nothing was lost
        assert api.get(conversation, params={"user_id": user}).json()["status"] == "expired"
        # Past RETENTION_DAYS (30) too: the purge deletes it, and the job that ran in it.
        age_conversation(admin_stack, job["conversation_id"], timedelta(days=31))
        purged = admin_stack.flask("maintenance", "purge")
        assert purged.endswith(" 1 conversations"), purged
        assert api.get(conversation, params={"user_id": user}).status_code == 404
        assert api.get(f"/v1/jobs/{job['id']}", params={"user_id": user}).status_code == 404
