"""The operators' commands (`flask --app api ...`) against a real stack: each one's effect is
checked through the HTTP API, Redis or the database, not only its output."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, update

from shared.core.models import Conversation
from tests.harness import ROOT, VENV_BIN, Stack
from tests.integration.conftest import DATABASES, chat, wait_for_job

# The session's stack, on one database: PostgreSQL when there is one (what compose runs). The
# commands are the same queries on either, so once is enough.
pytestmark = pytest.mark.parametrize("stack", DATABASES[-1:], indirect=True)

# Flask's CLI runner over the app factory, in a process of the stack's settings: the app's
# imports take seconds, so commands run together share them (`flask --app api` runs the same
# commands of the same app; other tests run it for `tokens create`).
_RUN_COMMANDS = """
import json, sys
from api import create_app
runner = create_app().test_cli_runner()
ran = [runner.invoke(args=args) for args in json.loads(sys.argv[1])]
print(json.dumps([[r.exit_code, r.stdout, r.stderr] for r in ran]))
"""


@dataclass(frozen=True)
class Ran:
    exit_code: int
    stdout: str
    stderr: str

    def output(self) -> str:
        assert self.exit_code == 0, self
        return self.stdout.strip()

    def refusal(self) -> str:
        """The error line of a command that must fail."""
        assert self.exit_code == 1 and self.stderr.startswith("Error: "), self
        return self.stderr


def run(stack: Stack, *commands: list[str]) -> list[Ran]:
    """Run admin commands one after another in one process; answer how each ended."""
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", _RUN_COMMANDS, json.dumps(commands)],
        env=stack.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [Ran(*fields) for fields in json.loads(done.stdout.splitlines()[-1])]


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


@contextmanager
def without_beat(stack: Stack) -> Iterator[None]:
    """No sweep or reconciler acts behind the test's back."""
    stack.processes["beat"].stop()
    try:
        yield
    finally:
        stack.start_beat()


QUEUES = ["queues", "--json"]


def test_queues_stuck_jobs_and_resending_one(admin_stack: Stack) -> None:
    stack = admin_stack
    [before] = run(stack, QUEUES)
    backlog_before = json.loads(before.output())
    with without_beat(stack), stack.client() as api:
        stack.processes["worker"].stop()
        try:
            users = [f"ops-{uuid.uuid4().hex[:6]}" for _ in range(2)]
            firsts = [chat(api, user, "waiting") for user in users]
            jobs = [job["id"] for job in firsts]
            conversation_id = firsts[0]["conversation_id"]
            blocked = chat(api, users[0], "next", conversation_id=conversation_id)["id"]
            counts, stuck, recent = run(
                stack,
                QUEUES,
                ["jobs", "stuck", "--older-than", "0", "--json"],
                ["jobs", "stuck", "--older-than", "3600", "--json"],
            )
            backlog = json.loads(counts.output())
            for section, name, added in (
                ("broker", "jobs", 2),
                ("queued_jobs", "sent", 2),
                ("queued_jobs", "blocked", 1),
                ("active_jobs", "queued", 3),
            ):
                assert backlog[section][name] == backlog_before[section][name] + added, name
            stuck_rows = {row["id"]: row for row in json.loads(stuck.output())}
            assert {job_id: stuck_rows[job_id]["queue_state"] for job_id in jobs} == {
                job_id: "sent" for job_id in jobs
            }
            assert blocked not in stuck_rows
            assert not {row["id"] for row in json.loads(recent.output())} & set(jobs)

            broker = redis.Redis.from_url(stack.redis_url)
            broker.delete("jobs")  # the messages are lost
            sent, missing, waiting = run(
                stack,
                ["jobs", "resend", jobs[0]],
                ["jobs", "resend", "job_missing"],
                ["jobs", "resend", blocked],
            )
            assert sent.output() == f"sent {jobs[0]}"
            assert broker.llen("jobs") == 1
            assert "not_found" in missing.refusal()
            assert "job_blocked" in waiting.refusal()
        finally:
            stack.start_worker()
        assert wait_for_job(api, jobs[0], users[0])["status"] == "completed"
        assert wait_for_job(api, blocked, users[0])["status"] == "completed"  # next in line
        [finished] = run(stack, ["jobs", "resend", jobs[0]])
        assert "job_not_queued" in finished.refusal()
        lost = api.get(f"/v1/jobs/{jobs[1]}", params={"user_id": users[1]}).json()
        assert lost["status"] == "queued"  # its message is still lost
    with stack.client() as api:  # beat's reconciler sends it again
        assert wait_for_job(api, jobs[1], users[1])["status"] == "completed"


def test_export_a_conversation_as_json(admin_stack: Stack, tmp_path: Path) -> None:
    with admin_stack.client() as api:
        user = f"ops-{uuid.uuid4().hex[:6]}"
        first = wait_for_job(api, chat(api, user, "My name is Ada")["id"], user)
        conversation_id = first["conversation_id"]
        second = chat(api, user, "What is my name?", conversation_id=conversation_id)
        second = wait_for_job(api, second["id"], user)
    target = tmp_path / "conversation.json"
    printed, wrote, missing = run(
        admin_stack,
        ["conversations", "export", conversation_id],
        ["conversations", "export", conversation_id, "--output", str(target)],
        ["conversations", "export", "conv_missing"],
    )
    document = json.loads(printed.output())
    assert (document["id"], document["user_id"]) == (conversation_id, user)
    assert [job["id"] for job in document["jobs"]] == [first["id"], second["id"]]
    assert document["jobs"][0]["request"]["message"] == "My name is Ada"
    assert [r["id"] for r in document["responses"]] == [
        first["result"]["response_id"],
        second["result"]["response_id"],
    ]
    assert document["responses"][1]["output_text"] == second["result"]["output_text"]
    assert wrote.output() == f"wrote {target}"
    assert json.loads(target.read_text())["jobs"] == document["jobs"]
    assert "not_found" in missing.refusal()


def test_the_sweeps_run_on_demand(admin_stack: Stack) -> None:
    with without_beat(admin_stack), admin_stack.client() as api:
        user = f"ops-{uuid.uuid4().hex[:6]}"
        job = wait_for_job(api, chat(api, user, "soon idle")["id"], user)
        conversation = f"/v1/conversations/{job['conversation_id']}"
        age_conversation(admin_stack, job["conversation_id"], timedelta(hours=1))  # past the TTL
        assert api.get(conversation, params={"user_id": user}).json()["status"] == "active"
        expired, reconciled = run(
            admin_stack, ["maintenance", "expire"], ["maintenance", "reconcile"]
        )
        assert expired.output() == "expired 1 conversations"
        assert reconciled.output().startswith("requeued 0, resent "), reconciled
        assert api.get(conversation, params={"user_id": user}).json()["status"] == "expired"
        # Past RETENTION_DAYS (30) too: the purge deletes it, and the job that ran in it.
        age_conversation(admin_stack, job["conversation_id"], timedelta(days=31))
        [purged] = run(admin_stack, ["maintenance", "purge"])
        assert purged.output().endswith(" 1 conversations"), purged
        assert api.get(conversation, params={"user_id": user}).status_code == 404
        assert api.get(f"/v1/jobs/{job['id']}", params={"user_id": user}).status_code == 404
