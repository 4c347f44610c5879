"""Conversation rules and idempotency keys, below the HTTP layer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from shared.conversations.expiry import expire_idle_conversations
from shared.core.clock import utcnow
from shared.core.db import read_session, write_session
from shared.core.errors import Conflict, InvalidInput
from shared.core.models import Conversation, Job
from tests.unit.chats import submit


def age(conversation_id: str, minutes: float) -> None:
    with write_session() as session:
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_active_at=utcnow() - timedelta(minutes=minutes))
        )


def test_a_submit_past_the_ttl_is_refused_before_any_sweep(sent: list[str]) -> None:
    job = submit()
    assert job.conversation_id
    age(job.conversation_id, 31)
    with pytest.raises(Conflict) as refused:
        submit(conversation_id=job.conversation_id)
    assert refused.value.code == "conversation_expired"
    with read_session() as session:
        assert session.get_one(Conversation, job.conversation_id).status == "active"
        assert session.scalar(select(Job.id).where(Job.id != job.id)) is None  # nothing half-made


def test_a_submit_keeps_the_conversation_alive(sent: list[str]) -> None:
    job = submit()
    assert job.conversation_id
    age(job.conversation_id, 29)
    submit(conversation_id=job.conversation_id)
    assert expire_idle_conversations() == 0


def test_the_sweep_expires_only_idle_conversations_in_batches(sent: list[str]) -> None:
    jobs = [submit(user=f"u{n}") for n in range(7)]
    for job in jobs[:5]:
        assert job.conversation_id
        age(job.conversation_id, 45)
    assert expire_idle_conversations(batch_size=2) == 5
    assert expire_idle_conversations(batch_size=2) == 0  # a second run changes nothing
    with read_session() as session:
        statuses = [session.get_one(Conversation, j.conversation_id).status for j in jobs]
    assert statuses == ["expired"] * 5 + ["active"] * 2


def test_same_idempotency_key_and_body_returns_the_first_job(sent: list[str]) -> None:
    first = submit(key="k1")
    again = submit(key="k1")
    assert again.id == first.id
    assert sent == [first.id]
    with pytest.raises(InvalidInput) as reused:
        submit(key="k1", message="something else")
    assert reused.value.code == "idempotency_key_reused"


def test_idempotency_keys_expire_after_a_day(sent: list[str]) -> None:
    first = submit(key="k2")
    with write_session() as session:
        session.execute(
            update(Job).where(Job.id == first.id).values(created_at=utcnow() - timedelta(hours=25))
        )
    later = submit(key="k2")
    assert later.id != first.id


def test_a_new_job_and_its_conversation_are_stored_as_the_submit_answers(sent: list[str]) -> None:
    job = submit(key="first")
    columns = Job.__table__.columns.keys()
    with read_session() as session:
        stored = session.get_one(Job, job.id)
        assert {c: getattr(stored, c) for c in columns} == {c: getattr(job, c) for c in columns}
        assert (stored.status, stored.attempts, stored.cancel_requested) == ("queued", 0, False)
        assert job.conversation_id is not None
        conversation = session.get_one(Conversation, job.conversation_id)
    assert (conversation.user_id, conversation.status) == ("u", "active")
    assert (conversation.jobs_submitted, conversation.meta) == (1, {})
