"""The deliveries outbox. A job's event becomes a pending delivery row in the very transaction
that moves the job (`shared/jobs/transitions.py`), so no event is lost between the two; its task
goes to the broker once that transaction has committed, and the sweep sends again any the broker
lost. The job's result never waits on its webhook.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import Row, insert, select
from sqlalchemy.orm import Session

from shared.core import task_names
from shared.core.celery_app import celery_app
from shared.core.ids import new_id
from shared.core.models import Job, WebhookDelivery
from shared.jobs import states
from shared.views import WebhookEventType, job_body

log = logging.getLogger(__name__)

# The statuses a job's webhook hears of: each is an event `job.<status>`.
EVENT_STATUSES = states.TERMINAL | {states.REQUIRES_ACTION}
assert {f"job.{status}" for status in EVENT_STATUSES} == set(get_args(WebhookEventType))

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"  # its retry window ran out

# What an event needs of its job: the job's body, its webhook, its owner.
EVENT_COLUMNS = select(
    Job.id,
    Job.user_id,
    Job.kind,
    Job.status,
    Job.conversation_id,
    Job.created_at,
    Job.started_at,
    Job.finished_at,
    Job.attempts,
    Job.result,
    Job.error,
    Job.required_action,
    Job.webhook_url,
    Job.webhook_token_id,
)


def record_job_events(session: Session, job_ids: Sequence[str], now: datetime) -> list[str]:
    """In the transaction that moved the jobs: a pending delivery of each one's event, its body
    the job's as it now stands. Answer the deliveries' ids, to send once committed."""
    if not job_ids:
        return []
    connection = session.connection()
    jobs = connection.execute(EVENT_COLUMNS.where(Job.id.in_(job_ids))).all()
    deliveries = [
        new_delivery(job, now)
        for job in jobs
        if job.status in EVENT_STATUSES and job.webhook_url is not None
    ]
    if deliveries:
        connection.execute(insert(WebhookDelivery), deliveries)
    return [delivery["id"] for delivery in deliveries]


def new_delivery(job: Row[Any], now: datetime) -> dict[str, Any]:
    """The row of a new delivery of the job's event as it stands (an EVENT_COLUMNS row): due
    now, its task about to be sent. Its id is the `webhook-id` of every attempt."""
    event = {
        "type": f"job.{job.status}",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": job_body(job),
    }
    return {
        "id": new_id("msg"),
        "job_id": job.id,
        "token_id": job.webhook_token_id,
        "url": job.webhook_url,
        "event_type": event["type"],
        "payload": json.dumps(event, separators=(",", ":")),
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "task_sent_at": now,
        "created_at": now,
    }


def send_deliveries(delivery_ids: Iterable[str]) -> None:
    """One task per delivery to the broker; one that can't be sent waits for the sweep."""
    for delivery_id in delivery_ids:
        try:
            celery_app.send_task(
                task_names.DELIVER_WEBHOOK, args=[delivery_id], queue=task_names.WEBHOOKS_QUEUE
            )
        except Exception as exc:  # kombu raises many kinds; the sweep will send it again
            log.warning("could not send webhook delivery %s to the broker: %s", delivery_id, exc)
