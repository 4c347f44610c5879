"""A job's writes after an upstream call made something (a conversation, a file) ride out a busy
database: refused once, they are tried again, so the job goes on and the upstream's object is
kept rather than the attempt abandoned to wait for the reconciler."""

from __future__ import annotations

from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from shared.core import task_names
from shared.core.db import read_session
from shared.core.errors import DatabaseUnavailable
from shared.core.models import Conversation, File
from shared.files import create_file, delete_file
from shared.jobs import states
from shared.jobs.lifecycle import Outcome, claim_job, finish_job
from tests.unit.chats import submit
from tests.unit.test_upstream_events import RESPONSE, sse, upstream_streaming
from worker import persist, turns, upstream, upstream_files
from worker.cancellation import CancelToken
from worker.capabilities import Capabilities
from worker.upstream import UpstreamFailure

BUSY = DatabaseUnavailable("The database is busy; try again.")


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persist, "RETRY_INTERVAL", 0.01)


def fake_upstream(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, resource: str, made: str
) -> None:
    """The module's upstream client answers `<resource>.create(...)` with an object of id `made`."""
    create = SimpleNamespace(create=lambda **_: SimpleNamespace(id=made))
    monkeypatch.setattr(module, "get_openai_client", lambda: SimpleNamespace(**{resource: create}))


def refuse_once(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str) -> list[str]:
    """The module's write `name` is refused by a busy database the first time; answers the ids
    it was tried with."""
    write = getattr(module, name)
    tries: list[str] = []

    def refused_the_first_time(*args: Any) -> Any:
        tries.append(args[0])
        if len(tries) == 1:
            raise BUSY
        return write(*args)

    monkeypatch.setattr(module, name, refused_the_first_time)
    return tries


def test_the_upstream_conversations_id_is_stored_through_a_busy_database(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It rides on the attempt's next write, the background response's id."""
    job = submit()  # a new conversation: its first job makes the upstream one
    claim = claim_job(job.id)
    assert claim is not None and claim.conversation_id is not None
    fake_upstream(monkeypatch, turns, "conversations", made="conv_upstream")
    caps = Capabilities(conversations=True, previous_response=True, background=True, retrieve=True)
    turn = turns.Turn(claim, caps)
    assert turn.first_params()["conversation"] == "conv_upstream"
    upstream_streaming(
        monkeypatch,
        sse(
            {"type": "response.created", "sequence_number": 0, "response": RESPONSE},
            {"type": "response.completed", "sequence_number": 1, "response": RESPONSE},
        ),
    )
    tries = refuse_once(monkeypatch, upstream, "record_upstream_response_id")
    relay = upstream.DeltaRelay(claim.job_id, resuming=False)
    params = turn.first_params()
    cancel = CancelToken(claim.job_id)
    upstream.run_response(claim, params, relay, None, True, cancel, turn.unsaved_conversation)
    assert tries == [claim, claim]
    with read_session() as session:
        assert session.get_one(Conversation, claim.conversation_id).upstream_id == "conv_upstream"


def test_an_uploaded_files_upstream_id_is_stored_through_a_busy_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file_id = create_file("u", "notes.txt", b"some notes")["id"]
    fake_upstream(monkeypatch, upstream_files, "files", made="file-upstream")
    tries = refuse_once(monkeypatch, upstream_files, "set_upstream_id")
    assert upstream_files.upstream_file_id(file_id) == "file-upstream"
    assert tries == [file_id, file_id]
    with read_session() as session:
        assert session.get_one(File, file_id).upstream_id == "file-upstream"


def test_a_file_deleted_before_its_job_sends_it_fails_the_job_by_name() -> None:
    file_id = create_file("u", "notes.txt", b"some notes")["id"]
    delete_file("u", file_id)
    with pytest.raises(UpstreamFailure) as failed:
        upstream_files.upstream_file_id(file_id)
    assert failed.value.code == "file_not_found" and file_id in failed.value.message


def test_a_file_deleted_while_its_copy_uploads_fails_the_job_and_drops_the_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file_id = create_file("u", "notes.txt", b"some notes")["id"]
    fake_upstream(monkeypatch, upstream_files, "files", made="file-orphan")
    keep = upstream_files.set_upstream_id

    def deleted_first(file_id: str, upstream_id: str) -> str | None:
        delete_file("u", file_id)
        return keep(file_id, upstream_id)

    monkeypatch.setattr(upstream_files, "set_upstream_id", deleted_first)
    sent: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(
        upstream_files.celery_app, "send_task", lambda name, args: sent.append((name, args))
    )
    with pytest.raises(UpstreamFailure) as failed:
        upstream_files.upstream_file_id(file_id)
    assert failed.value.code == "file_not_found"
    assert sent == [(task_names.DELETE_UPSTREAM_FILE, ["file-orphan"])]


def test_an_upstream_conversation_not_stored_by_then_is_stored_with_the_jobs_end() -> None:
    """Without background mode no response id is stored mid-stream: the end carries it."""
    claim = claim_job(submit().id)
    assert claim is not None and claim.conversation_id is not None
    outcome = Outcome(status=states.COMPLETED, result={"output_text": "hi"})
    assert finish_job(claim, outcome, "conv_upstream")
    with read_session() as session:
        assert session.get_one(Conversation, claim.conversation_id).upstream_id == "conv_upstream"
