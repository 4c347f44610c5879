"""Reading jobs: one, a page of them, or one held until it finishes (`?wait=`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, func, select

from shared.core.db import read_connection, read_session
from shared.core.errors import not_found
from shared.core.models import Job
from shared.core.pagination import list_body, page
from shared.jobs import events, states, status_watch
from shared.views import JobColumns, job_body

FALLBACK_POLL_SECONDS = 0.25
RECHECK_SECONDS = 5.0

# Built once: a job's read is a poll's whole work, and building the statement cost as much CPU
# as running it.
_jobs = Job.__table__
_JOB = select(_jobs).where(_jobs.c.id == bindparam("job_id"))
_JOB_STATUS = select(_jobs.c.user_id, _jobs.c.status).where(_jobs.c.id == bindparam("job_id"))


def load_job(user_id: str, job_id: str) -> JobColumns:
    with read_connection() as connection:
        return _users_job(connection, _JOB, user_id, job_id)


def job_status(user_id: str, job_id: str) -> str:
    """The job's status alone: what a wait checks each time it wakes, without loading the rest."""
    with read_connection() as connection:
        return str(_users_job(connection, _JOB_STATUS, user_id, job_id).status)


def _users_job(
    connection: Connection, statement: Select[Any], user_id: str, job_id: str
) -> Row[Any]:
    """The job's row that `statement` reads (its columns include user_id); 404 unless it is the
    user's."""
    job = connection.execute(statement, {"job_id": job_id}).first()
    if job is None or job.user_id != user_id:
        raise not_found("job")
    return job


def get_job(user_id: str, job_id: str, wait_seconds: float = 0) -> dict[str, Any]:
    if wait_seconds > 0:
        _wait_until_settled(user_id, job_id, wait_seconds)
    position = None
    with read_connection() as connection:
        job = _users_job(connection, _JOB, user_id, job_id)
        if job.status == states.QUEUED:
            position = queue_positions(connection, user_id, [job], contiguous=False)[job.id]
    body = job_body(job, position)
    if job.status == states.IN_PROGRESS and body["result"] is None:
        # The text generated so far, so a poll shows progress.
        body["result"] = {
            "response_id": None,
            "output_text": events.partial_text(job.id),
            "output": [],
            "usage": None,
            "parsed": None,
        }
    return body


def _wait_until_settled(user_id: str, job_id: str, wait_seconds: float) -> None:
    """Hold until the job is terminal or waits for tool outputs, or until time is up.

    Woken by the process's status watch when the job's status changes (or may have), so the
    answer comes within milliseconds of the change; polls the database instead while the watch
    is not listening (Redis away), and reads it at least every RECHECK_SECONDS in any case (a
    change whose notice Redis lost).
    """
    deadline = time.monotonic() + wait_seconds
    with status_watch.watch.watching(job_id) as notice:  # before the read: no change slips between
        initial_status = status = job_status(user_id, job_id)
        while not _settled(status, initial_status):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            longest = RECHECK_SECONDS if status_watch.watch.listening() else FALLBACK_POLL_SECONDS
            notice.wait(min(longest, remaining))
            status = job_status(user_id, job_id)


def _settled(status: str, initial_status: str) -> bool:
    return status in states.TERMINAL or (
        status == states.REQUIRES_ACTION and initial_status != states.REQUIRES_ACTION
    )


def list_jobs(
    user_id: str,
    status: str | None,
    conversation_id: str | None,
    limit: int,
    after: str | None,
) -> dict[str, Any]:
    query = select(Job).where(Job.user_id == user_id)
    if status:
        query = query.where(Job.status == status)
    if conversation_id:
        query = query.where(Job.conversation_id == conversation_id)
    with read_session() as session:
        jobs, has_more = page(
            session, query, Job.id, limit, after, newest_first=True, id_prefix="job"
        )
        contiguous = status == states.QUEUED and conversation_id is None
        positions = queue_positions(session.connection(), user_id, jobs, contiguous)
    return list_body([job_body(job, positions.get(job.id)) for job in jobs], has_more)


def queue_positions(
    connection: Connection, user_id: str, jobs: Sequence[JobColumns], contiguous: bool
) -> dict[str, int]:
    """Where each queued job stands among its user's queued jobs (1: the next to go).

    One count for the oldest queued job of the page; when the page holds every queued job
    between its ends (a `status=queued` listing), the rest follow by counting along.
    """
    queued = sorted(job.id for job in jobs if job.status == states.QUEUED)
    if not queued:
        return {}

    def ahead_of(job_id: str) -> int:
        return int(
            connection.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.user_id == user_id, Job.status == states.QUEUED, Job.id < job_id)
            )
            or 0
        )

    if contiguous:
        first = ahead_of(queued[0]) + 1
        return {job_id: first + index for index, job_id in enumerate(queued)}
    return {job_id: ahead_of(job_id) + 1 for job_id in queued}
