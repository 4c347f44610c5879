"""Beat's job sweeps: reconcile lost jobs, time out stuck ones, purge old data, idempotently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from shared.core.clock import utcnow
from shared.core.db import read_session, write_session
from shared.core.models import Conversation, Job, Response
from shared.core.settings import get_settings
from shared.jobs import states
from shared.jobs.lifecycle import Outcome, claim_job, finish_job
from shared.jobs.sweeps import purge_old_data, reconcile_jobs
from tests.unit.chats import submit


def set_job(job_id: str, **values: object) -> None:
    with write_session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(**values))


def get(job_id: str) -> Job:
    with read_session() as session:
        return session.get_one(Job, job_id)


def test_a_job_whose_worker_stopped_renewing_is_dispatched_again(sent: list[str]) -> None:
    job = submit()
    assert claim_job(job.id)
    set_job(
        job.id, lease_expires_at=utcnow() - timedelta(seconds=get_settings().JOB_LEASE_SECONDS + 1)
    )
    sent.clear()
    assert reconcile_jobs().requeued == 1
    assert sent == [job.id]
    assert reconcile_jobs().requeued == 0  # a second run changes nothing


def test_a_message_sent_long_ago_and_never_started_is_sent_again_once(sent: list[str]) -> None:
    job = submit()
    set_job(job.id, dispatched_at=utcnow() - timedelta(minutes=5))
    sent.clear()
    assert reconcile_jobs().resent == 1
    assert reconcile_jobs().resent == 0
    assert sent == [job.id]


def test_a_job_that_lost_too_many_workers_fails(sent: list[str]) -> None:
    job = submit()
    later = submit(conversation_id=job.conversation_id)
    assert claim_job(job.id)
    lost = utcnow() - timedelta(seconds=get_settings().JOB_LEASE_SECONDS + 1)
    for _ in range(get_settings().MAX_JOB_ATTEMPTS - 1):
        set_job(job.id, lease_expires_at=lost)
        assert reconcile_jobs().requeued == 1
        assert claim_job(job.id)
    set_job(job.id, lease_expires_at=lost)
    assert reconcile_jobs().failed == 1
    failed = get(job.id)
    assert failed.status == "failed" and failed.error["code"] == "worker_lost"
    assert get(later.id).queue_state in (states.READY, states.SENT)


def test_a_job_resumed_with_tool_outputs_many_times_survives_a_lost_worker(
    sent: list[str],
) -> None:
    job = submit()
    assert claim_job(job.id)
    # Claimed once and resumed with tool outputs often since: many claims, no worker lost.
    set_job(
        job.id,
        attempts=get_settings().MAX_JOB_ATTEMPTS + 3,
        lease_expires_at=utcnow() - timedelta(seconds=get_settings().JOB_LEASE_SECONDS + 1),
    )
    report = reconcile_jobs()
    assert (report.failed, report.requeued) == (0, 1)
    assert get(job.id).status == "in_progress"


def test_a_job_running_past_the_timeout_fails(sent: list[str]) -> None:
    job = submit()
    assert claim_job(job.id)
    set_job(job.id, started_at=utcnow() - timedelta(hours=2))
    assert reconcile_jobs().failed == 1
    assert get(job.id).error["code"] == "job_timeout"


def test_purge_removes_old_finished_jobs_and_ended_conversations(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old, recent, running = submit(), submit(), submit()
    for job in (old, recent):
        claim = claim_job(job.id)
        assert claim
        finish_job(claim, Outcome(status=states.COMPLETED, result={}))
    long_ago = utcnow() - timedelta(days=get_settings().RETENTION_DAYS + 1)
    set_job(old.id, finished_at=long_ago)
    with write_session() as session:
        session.add(
            Response(
                id="resp_old",
                job_id=old.id,
                user_id="u",
                conversation_id=old.conversation_id,
                model="m",
                status="completed",
                output=[],
            )
        )
        session.execute(
            update(Conversation)
            .where(Conversation.id == recent.conversation_id)
            .values(status="expired", last_active_at=long_ago)
        )
    assert purge_old_data() == {"jobs": 1, "conversations": 1}
    assert purge_old_data() == {"jobs": 0, "conversations": 0}
    with read_session() as session:
        remaining = set(session.scalars(select(Job.id)))
        kept = session.get_one(Response, "resp_old")
        conversations = session.scalar(select(func.count()).select_from(Conversation))
    assert remaining == {running.id}  # the expired conversation took its job with it
    assert kept.job_id is None  # history outlives the purged job
    assert conversations == 2


def test_a_lease_just_past_its_end_is_left_to_its_worker(sent: list[str]) -> None:
    job = submit()
    assert claim_job(job.id)
    set_job(job.id, lease_expires_at=utcnow() - timedelta(seconds=1))
    assert reconcile_jobs().requeued == 0  # its worker may renew once the database answers
