"""The offline upstream keeps its state in OFFLINE_OPENAI_STATE: a restart, even a SIGKILL,
forgets no conversation, stored response, file or creation count; a reset forgets them all."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from offline_helpers import MODEL, Upstream, parse_sse, start_upstream, stop_upstream


class RestartableUpstream:
    """An offline upstream on a state file of its own, that a test can stop and start again."""

    def __init__(self, tmp_path: Path) -> None:
        self.env = {"OFFLINE_OPENAI_STATE": str(tmp_path / "state" / "offline-openai.db")}
        self.log_path = tmp_path / "server.log"
        self.process: subprocess.Popen[str] | None = None
        self.current: Upstream | None = None

    def start(self) -> Upstream:
        process, url = start_upstream(self.env, self.log_path)
        self.process = process
        self.current = Upstream(url, process)
        return self.current

    def restart(self, kill: bool = False) -> Upstream:
        assert self.process is not None
        if kill:
            self.process.kill()
            self.process.wait(timeout=5)
            assert self.process.stdout is not None
            self.process.stdout.close()
        else:
            stop_upstream(self.process)
        return self.start()

    def stop(self) -> None:
        if self.process is not None:
            stop_upstream(self.process)


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[RestartableUpstream]:
    upstream = RestartableUpstream(tmp_path)
    upstream.start()
    try:
        yield upstream
    finally:
        upstream.stop()


def _turn(upstream: Upstream, conversation: str, text: str, job_id: str) -> Any:
    return upstream.client().responses.create(
        model=MODEL, input=text, conversation=conversation, metadata={"job_id": job_id}
    )


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_a_restarted_upstream_continues_its_conversations(
    restartable: RestartableUpstream, kill: bool
) -> None:
    before = restartable.current
    assert before is not None
    conversation = before.client().conversations.create(metadata={"owner": "ada"})
    first = _turn(before, conversation.id, "Hello, my name is Ada", "job_1")
    chained = before.client().responses.create(
        model=MODEL, input="My name is Grace", metadata={"job_id": "job_2"}
    )
    uploaded = before.client().files.create(file=("notes.txt", b"kept"), purpose="user_data")

    after = restartable.restart(kill=kill)

    client = after.client()
    assert client.conversations.retrieve(conversation.id).metadata == {"owner": "ada"}
    items = client.conversations.items.list(conversation.id).data
    assert len(items) == 2  # the user message and the reply
    second = _turn(after, conversation.id, "What is my name?", "job_3")
    assert second.output_text.startswith("[offline turn 2]")
    assert "Ada" in second.output_text
    assert client.responses.retrieve(first.id).output_text == first.output_text
    follow = client.responses.create(
        model=MODEL, input="What is my name?", previous_response_id=chained.id
    )
    assert "Grace" in follow.output_text
    assert client.files.content(uploaded.id).read() == b"kept"
    stats = after.stats()
    assert stats["responses_created"] == 4
    assert stats["responses_created_by_job"] == {"job_1": 1, "job_2": 1, "job_3": 1}


def test_deletions_stay_deleted_after_a_restart(restartable: RestartableUpstream) -> None:
    before = restartable.current
    assert before is not None
    client = before.client()
    gone = client.conversations.create()
    kept = client.conversations.create(items=[{"role": "user", "content": "one"}])
    extra = client.conversations.items.create(
        kept.id, items=[{"role": "user", "content": "two"}]
    ).data[0]
    client.conversations.items.delete(extra.id, conversation_id=kept.id)
    client.conversations.delete(gone.id)
    response = client.responses.create(model=MODEL, input="bye")
    client.responses.delete(response.id)
    uploaded = client.files.create(file=("a.txt", b"x"), purpose="user_data")
    client.files.delete(uploaded.id)

    after = restartable.restart().client()
    assert [item.id for item in after.conversations.items.list(kept.id).data] != [extra.id]
    assert len(after.conversations.items.list(kept.id).data) == 1
    for missing in (
        lambda: after.conversations.retrieve(gone.id),
        lambda: after.responses.retrieve(response.id),
        lambda: after.files.retrieve(uploaded.id),
    ):
        with pytest.raises(Exception, match="404"):
            missing()


def stream_of(upstream: Upstream, response_id: str, **params: Any) -> list[Any]:
    """A background response's events, read to its end (after `starting_after`, if given)."""
    streamed = httpx.get(
        f"{upstream.base_url}/responses/{response_id}",
        params={"stream": "true", **params},
        headers={"Authorization": "Bearer test-key"},
        timeout=20,
    )
    streamed.raise_for_status()
    return parse_sse(streamed.text)


def test_a_background_response_cut_off_by_a_kill_finishes_after_the_restart(
    restartable: RestartableUpstream,
) -> None:
    before = restartable.current
    assert before is not None
    before.configure(latency_ms=60_000)
    started = before.client().responses.create(
        model=MODEL, input="Hello there", background=True, metadata={"job_id": "job_bg"}
    )
    assert started.status == "queued"

    after = restartable.restart(kill=True)

    events = stream_of(after, started.id, starting_after=1)
    assert events[0][1]["sequence_number"] == 2  # a resuming client gets only what it missed
    assert events[-1][0] == "response.completed"
    assert after.client().responses.retrieve(started.id).status == "completed"
    assert after.stats()["responses_created_by_job"] == {"job_bg": 1}


def test_a_background_response_finished_before_a_restart_replays_to_its_end(
    restartable: RestartableUpstream,
) -> None:
    before = restartable.current
    assert before is not None
    started = before.client().responses.create(model=MODEL, input="Hello there", background=True)
    stream_of(before, started.id)  # followed to its end before the restart

    after = restartable.restart(kill=True)

    events = stream_of(after, started.id, starting_after=1)
    assert events[-1][0] == "response.completed"
    assert [event["sequence_number"] for _, event in events] == list(range(2, len(events) + 2))


def test_reset_forgets_the_state_file_too(restartable: RestartableUpstream) -> None:
    before = restartable.current
    assert before is not None
    conversation = before.client().conversations.create()
    before.client().responses.create(model=MODEL, input="hi", metadata={"job_id": "job_r"})
    assert before.ops("POST", "/_offline/reset").status_code == 200

    after = restartable.restart()

    with pytest.raises(Exception, match="404"):
        after.client().conversations.retrieve(conversation.id)
    assert after.stats()["responses_created"] == 0
