"""A job's deliveries as its caller sees them (`GET /v1/jobs/{id}/deliveries`), and sending its
event again as a new delivery, with a new webhook-id (`…/deliveries/redeliver`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shared.core.clock import utcnow
from shared.core.db import read_session, write_session
from shared.core.errors import Conflict, not_found
from shared.core.models import Job, WebhookAttempt, WebhookDelivery
from shared.core.pagination import list_body, page
from shared.jobs.queries import load_job
from shared.views import delivery_body
from shared.webhooks.outbox import EVENT_COLUMNS, EVENT_STATUSES, new_delivery, send_deliveries


def list_deliveries(user_id: str, job_id: str, limit: int, after: str | None) -> dict[str, Any]:
    """The job's deliveries, oldest first, each with its attempts."""
    load_job(user_id, job_id)  # 404 unless it is the user's
    with read_session() as session:
        deliveries, has_more = page(
            session,
            select(WebhookDelivery).where(WebhookDelivery.job_id == job_id),
            WebhookDelivery.id,
            limit,
            after,
            newest_first=False,
            id_prefix="msg",
        )
        attempts: dict[str, list[WebhookAttempt]] = {delivery.id: [] for delivery in deliveries}
        for attempt in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return list_body(
        [delivery_body(delivery, attempts[delivery.id]) for delivery in deliveries],
        has_more,
    )


def redeliver(user_id: str, job_id: str) -> dict[str, Any]:
    """Send the job's event (where it stands now) again: a new delivery, with a new id."""
    with write_session() as session:
        job = session.connection().execute(EVENT_COLUMNS.where(Job.id == job_id)).first()
        if job is None or job.user_id != user_id:
            raise not_found("job")
        if job.webhook_url is None:
            raise Conflict("no_webhook", "The job has no webhook_url to deliver to.", "job_id")
        if job.status not in EVENT_STATUSES:
            raise Conflict(
                "no_webhook_event",
                f"The job is {job.status}: it has no event to deliver until it ends or waits "
                "for tool outputs.",
                "job_id",
            )
        delivery = WebhookDelivery(**new_delivery(job, utcnow()))
        session.add(delivery)
    send_deliveries([delivery.id])
    return delivery_body(delivery, [])
