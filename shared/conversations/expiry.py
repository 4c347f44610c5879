"""TTL expiry: active conversations idle past CONVERSATION_TTL_MINUTES become `expired`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from shared.core import task_names
from shared.core.celery_app import celery_app
from shared.core.clock import utcnow
from shared.core.db import write_session
from shared.core.models import Conversation
from shared.core.settings import get_settings

EXPIRY_BATCH = 5_000


def expire_idle_conversations(batch_size: int = EXPIRY_BATCH) -> int:
    """Mark active conversations idle past the TTL `expired`, in batches; safe to run twice."""
    cutoff = utcnow() - timedelta(seconds=get_settings().conversation_ttl_seconds)
    expired = 0
    while True:
        with write_session() as session:
            ids = list(
                session.scalars(
                    select(Conversation.id)
                    .where(Conversation.status == "active", Conversation.last_active_at < cutoff)
                    .limit(batch_size)
                )
            )
            if not ids:
                return expired
            upstream_ids = list(
                session.scalars(
                    update(Conversation)
                    .where(
                        Conversation.id.in_(ids),
                        Conversation.status == "active",
                        Conversation.last_active_at < cutoff,
                    )
                    .values(status="expired", expired_at=utcnow())
                    .returning(Conversation.upstream_id)
                )
            )
        expired += len(upstream_ids)
        if get_settings().DELETE_EXPIRED_UPSTREAM:
            for upstream_id in filter(None, upstream_ids):
                celery_app.send_task(task_names.DELETE_UPSTREAM_CONVERSATION, args=[upstream_id])
