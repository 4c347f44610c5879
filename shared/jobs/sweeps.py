"""Beat's sweeps over jobs: re-send what no worker holds, time out the stuck, purge the old.

Each is idempotent (conditional UPDATEs), so two beats running at once change nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, select, update

from shared.core.clock import utcnow
from shared.core.db import affected, write_session
from shared.core.models import Conversation, Job
from shared.core.settings import get_settings
from shared.jobs import dispatch, states
from shared.jobs.transitions import Change, moving_jobs

log = logging.getLogger(__name__)

BATCH = 1_000


@dataclass
class ReconcileReport:
    requeued: int = 0
    resent: int = 0
    failed: int = 0


def reconcile_jobs() -> ReconcileReport:
    """Find jobs that lost their worker or their message, or ran out of time, and act."""
    settings = get_settings()
    now = utcnow()
    # A lease a whole lease past its end: its worker is gone. Not sooner, so a worker that
    # could not renew during a short database outage renews once the database is back.
    lost_before = now - timedelta(seconds=settings.JOB_LEASE_SECONDS)
    report = ReconcileReport()
    report.failed += _fail(
        (
            Job.status == states.IN_PROGRESS,
            Job.queue_state.is_(None),
            Job.lease_expires_at < lost_before,
            # This loss is its MAX_JOB_ATTEMPTS-th (claims count resumes with tool outputs too).
            Job.lost_attempts + 1 >= settings.MAX_JOB_ATTEMPTS,
        ),
        "worker_lost",
        f"The job's worker stopped {settings.MAX_JOB_ATTEMPTS} times while running it.",
    )
    stuck_before = now - timedelta(seconds=settings.JOB_TIMEOUT_SECONDS)
    report.failed += _fail(
        (
            Job.status.in_((states.IN_PROGRESS, states.REQUIRES_ACTION)),
            Job.started_at < stuck_before,
        ),
        "job_timeout",
        f"The job did not finish within JOB_TIMEOUT_SECONDS ({settings.JOB_TIMEOUT_SECONDS:g} s).",
    )
    with write_session() as session:
        # A worker that stopped renewing its lease is gone: the job goes back to the dispatcher.
        report.requeued = affected(
            session,
            update(Job)
            .where(
                Job.status == states.IN_PROGRESS,
                Job.queue_state.is_(None),
                Job.lease_expires_at < lost_before,
            )
            .values(
                queue_state=states.READY,
                lease_expires_at=None,
                lost_attempts=Job.lost_attempts + 1,
            ),
        )
        # A message sent long ago whose job never started was lost (Redis restarted, or the
        # dispatcher died before sending): send it again; a duplicate is a no-op for the worker.
        lost = list(
            session.scalars(
                update(Job)
                .where(
                    Job.queue_state == states.SENT,
                    Job.dispatched_at < now - timedelta(seconds=settings.RESEND_AFTER_SECONDS),
                )
                .values(dispatched_at=now)
                .returning(Job.id)
            )
        )
    for job_id in lost:
        dispatch.send_job(job_id)
    report.resent = len(lost)
    dispatch.dispatch_soon()
    if report.requeued or report.resent or report.failed:
        log.info("reconciled jobs: %s", report)
    return report


def _fail(conditions: tuple[ColumnElement[bool], ...], code: str, message: str) -> int:
    with moving_jobs() as jobs:
        return len(
            jobs.move(
                conditions, Change(status=states.FAILED, error={"code": code, "message": message})
            )
        )


def purge_old_data() -> dict[str, int]:
    """Delete finished jobs, and closed or expired conversations, older than RETENTION_DAYS."""
    cutoff = utcnow() - timedelta(days=get_settings().RETENTION_DAYS)
    purged = {"jobs": 0, "conversations": 0}
    for model, key, where in (
        (Job, "jobs", (Job.status.in_(states.TERMINAL), Job.finished_at < cutoff)),
        (
            Conversation,
            "conversations",
            (Conversation.status.in_(("closed", "expired")), Conversation.last_active_at < cutoff),
        ),
    ):
        while True:
            with write_session() as session:
                ids = list(session.scalars(select(model.id).where(*where).limit(BATCH)))
                if ids:
                    session.execute(delete(model).where(model.id.in_(ids)))
            purged[key] += len(ids)
            if len(ids) < BATCH:
                break
    return purged
