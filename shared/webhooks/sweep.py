"""Beat's side of the deliveries: send each one that is due and not on its way (a retry whose
time has come, or one whose task the broker lost: a Redis restart, a worker killed mid-attempt),
and the age of the oldest still pending, for the metrics."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select, update

from shared.core.clock import utcnow
from shared.core.db import read_session, write_session
from shared.core.models import WebhookDelivery
from shared.core.settings import get_settings
from shared.webhooks.outbox import PENDING, send_deliveries

BATCH = 500


def send_due_deliveries() -> int:
    """Send every due delivery that no attempt holds and no recent task carries; answer how
    many. Two beats at once may both send one: the attempt's lease lets only one through."""
    now = utcnow()
    lost_before = now - timedelta(seconds=get_settings().RESEND_AFTER_SECONDS)
    due = (
        WebhookDelivery.status == PENDING,
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at < now),
        or_(WebhookDelivery.task_sent_at.is_(None), WebhookDelivery.task_sent_at < lost_before),
    )
    with write_session() as session:
        ids = list(
            session.scalars(
                select(WebhookDelivery.id)
                .where(*due)
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(BATCH)
            )
        )
        sent = list(
            session.scalars(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids), *due)
                .values(task_sent_at=now)
                .returning(WebhookDelivery.id)
            )
            if ids
            else []
        )
    send_deliveries(sent)
    return len(sent)


def oldest_pending_seconds() -> float:
    """How long the oldest delivery still pending has waited since its event (0: none)."""
    with read_session() as session:
        oldest = session.scalar(
            select(func.min(WebhookDelivery.created_at)).where(WebhookDelivery.status == PENDING)
        )
    return 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())
