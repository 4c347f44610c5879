"""A job's writes after an upstream call made something (a conversation, a file) ride out a busy
database: refused once, they are tried again, so the job goes on and the upstream's object is
kept rather than the attempt abandoned to wait for the reconciler."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from shared.db import read_session
from shared.errors import ApiError
from shared.files import create_file, set_upstream_id
from shared.job_lifecycle import claim_job, set_conversation_upstream_id
from shared.models import Conversation, File
from tests.unit.chats import submit
from worker import persist, turns, upstream_files
from worker.capabilities import Capabilities

BUSY = ApiError(503, "database_unavailable", "The database is busy; try again.")


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persist, "RETRY_INTERVAL", 0.01)


def busy_once(write: Any, tries: list[str]) -> Any:
    def refused_the_first_time(*args: Any) -> Any:
        tries.append(args[0])
        if len(tries) == 1:
            raise BUSY
        return write(*args)

    return refused_the_first_time


def upstream(**resources: Any) -> Any:
    return lambda: SimpleNamespace(**resources)


def test_the_upstream_conversations_id_is_stored_through_a_busy_database(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    job = submit()  # a new conversation: its first job makes the upstream one
    claim = claim_job(job.id)
    assert claim is not None and claim.conversation_id is not None
    created = SimpleNamespace(id="conv_upstream")
    monkeypatch.setattr(
        turns,
        "get_openai_client",
        upstream(conversations=SimpleNamespace(create=lambda **_: created)),
    )
    tries: list[str] = []
    monkeypatch.setattr(
        turns, "set_conversation_upstream_id", busy_once(set_conversation_upstream_id, tries)
    )
    caps = Capabilities(conversations=True, previous_response=True, background=True, retrieve=True)
    params = turns.Turn(claim, caps).first_params()
    assert params["conversation"] == "conv_upstream"
    assert tries == [claim.conversation_id, claim.conversation_id]
    with read_session() as session:
        assert session.get_one(Conversation, claim.conversation_id).upstream_id == "conv_upstream"


def test_an_uploaded_files_upstream_id_is_stored_through_a_busy_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file_id = create_file("u", "notes.txt", b"some notes")["id"]
    uploaded = SimpleNamespace(id="file-upstream")
    monkeypatch.setattr(
        upstream_files,
        "get_openai_client",
        upstream(files=SimpleNamespace(create=lambda **_: uploaded)),
    )
    tries: list[str] = []
    monkeypatch.setattr(upstream_files, "set_upstream_id", busy_once(set_upstream_id, tries))
    assert upstream_files.upstream_file_id(file_id) == "file-upstream"
    assert tries == [file_id, file_id]
    with read_session() as session:
        assert session.get_one(File, file_id).upstream_id == "file-upstream"
