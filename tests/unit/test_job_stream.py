"""A job's event stream around its end: the status event follows the commit it reports."""

from __future__ import annotations

import threading

from sqlalchemy import update

from shared.core.db import write_session
from shared.core.models import Job
from shared.jobs import events
from shared.jobs.stream import job_events
from tests.unit.chats import submit


def test_a_reader_that_sees_the_end_before_its_event_still_gets_the_event(
    sent: list[str],
) -> None:
    job = submit("u")
    with write_session() as session:  # the worker's finish has committed...
        session.execute(update(Job).where(Job.id == job.id).values(status="completed"))
    # ...and publishes the status event a moment later.
    publisher = threading.Timer(
        0.05, lambda: events.publish(job.id, "status", {"status": "completed", "error": None})
    )
    publisher.start()
    try:
        frames = list(job_events("u", job.id, None))
    finally:
        publisher.join()
    assert len(frames) == 1
    assert frames[0].startswith("id: ") and "event: status" in frames[0], frames
