"""What the gateway's record gives to rebuild a conversation the upstream forgot, and how the
rebuilt upstream conversation replaces the lost one."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from shared.conversations.rebuild import NothingToRebuild, recorded_turns, replace_upstream_id
from shared.core.db import read_session, write_session
from shared.core.models import Conversation, Job, Response
from shared.jobs import states
from shared.jobs.lifecycle import Outcome, claim_job, finish_job
from tests.unit.chats import submit


def answered(
    message: str, reply: str, conversation_id: str | None = None, status: str = states.COMPLETED
) -> Job:
    """A chat job that ended `status` with `reply`."""
    job = submit(conversation_id=conversation_id, message=message)
    claim = claim_job(job.id)
    assert claim is not None
    row = Response(
        id=f"resp_{job.id}",
        job_id=job.id,
        user_id=job.user_id,
        conversation_id=job.conversation_id,
        model="m",
        status=status,
        output_text=reply,
        output=[],
    )
    assert finish_job(claim, Outcome(status=status, result={}, response=row))
    return job


def test_the_record_gives_each_earlier_turn_in_order(sent: list[str]) -> None:
    first = answered("Hello, my name is Ada", "Nice to meet you, Ada.")
    assert first.conversation_id is not None
    answered("I live in Paris", "Paris is lovely.", first.conversation_id)
    third = submit(conversation_id=first.conversation_id, message="What is my name?")
    assert recorded_turns(first.conversation_id, third.conversation_seq or 0, third.id) == [
        {"role": "user", "content": "Hello, my name is Ada"},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "I live in Paris"},
        {"role": "assistant", "content": "Paris is lovely."},
    ]


def test_a_reply_cut_short_stays_in_the_conversation(sent: list[str]) -> None:
    first = answered("Tell me a long story", "Once upon a", status=states.INCOMPLETE)
    assert first.conversation_id is not None
    later = submit(conversation_id=first.conversation_id, message="Go on")
    assert recorded_turns(first.conversation_id, later.conversation_seq or 0, later.id) == [
        {"role": "user", "content": "Tell me a long story"},
        {"role": "assistant", "content": "Once upon a"},
    ]


def test_a_first_turn_has_nothing_to_rebuild_and_needs_nothing(sent: list[str]) -> None:
    job = submit()
    assert job.conversation_id is not None
    assert recorded_turns(job.conversation_id, job.conversation_seq or 0, job.id) == []


def test_answered_turns_gone_from_the_record_leave_nothing_to_rebuild(sent: list[str]) -> None:
    first = answered("Hello, my name is Ada", "Nice to meet you, Ada.")
    assert first.conversation_id is not None
    later = submit(conversation_id=first.conversation_id, message="What is my name?")
    with write_session() as session:  # purged past RETENTION_DAYS: the reply stays, the job goes
        session.execute(delete(Job).where(Job.id == first.id))
    with pytest.raises(NothingToRebuild):
        recorded_turns(first.conversation_id, later.conversation_seq or 0, later.id)


def test_the_rebuilt_upstream_conversation_replaces_the_lost_one_once(sent: list[str]) -> None:
    job = submit()
    assert job.conversation_id is not None
    with write_session() as session:
        session.execute(
            update(Conversation)
            .where(Conversation.id == job.conversation_id)
            .values(upstream_id="conv_lost")
        )
    assert replace_upstream_id(job.conversation_id, "conv_lost", "conv_new") == "conv_new"
    # Another attempt that also saw conv_lost gone keeps the first replacement.
    assert replace_upstream_id(job.conversation_id, "conv_lost", "conv_other") == "conv_new"
    with read_session() as session:
        conversation = session.get(Conversation, job.conversation_id)
        assert conversation is not None and conversation.upstream_id == "conv_new"
