"""Celery tasks: thin shells over plain functions in worker/runner.py and shared/."""

from __future__ import annotations

from typing import Any

import openai

from shared.conversations.expiry import expire_idle_conversations
from shared.core import metrics, task_names
from shared.core.celery_app import celery_app
from shared.jobs.sweeps import purge_old_data, reconcile_jobs
from shared.webhooks.delivery import deliver
from shared.webhooks.sweep import send_due_deliveries
from worker import runner, upstream_admin

# An upstream call outside a job, tried again with backoff while the upstream fails for a while
# (unreachable, timing out, 429, 5xx); an answer such as 404 or 400 would be the same next time.
UPSTREAM_HOUSEKEEPING: dict[str, Any] = {
    "autoretry_for": (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


@celery_app.task(name=task_names.RUN_JOB, acks_late=True, reject_on_worker_lost=True)
def run_job(job_id: str) -> None:
    runner.run_job(job_id)


@celery_app.task(name=task_names.EXPIRE_CONVERSATIONS)
def expire_idle_conversations_task() -> int:
    expired = expire_idle_conversations()
    metrics.count_expired_conversations(expired)
    return expired


@celery_app.task(name=task_names.RECONCILE_JOBS)
def reconcile_jobs_task() -> dict[str, int]:
    report = vars(reconcile_jobs())
    metrics.count_reconciled(report)
    return report


@celery_app.task(name=task_names.PURGE_OLD_DATA)
def purge_old_data_task() -> dict[str, int]:
    purged = purge_old_data()
    metrics.count_purged_rows(purged)
    return purged


@celery_app.task(name=task_names.DELIVER_WEBHOOK, acks_late=True, reject_on_worker_lost=True)
def deliver_webhook(delivery_id: str) -> None:
    attempt = deliver(delivery_id)
    if attempt is not None:
        metrics.count_webhook_attempt(attempt.outcome, attempt.ended)


@celery_app.task(name=task_names.SEND_DUE_WEBHOOKS)
def send_due_webhooks_task() -> int:
    return send_due_deliveries()


@celery_app.task(name=task_names.UPDATE_UPSTREAM_CONVERSATION, **UPSTREAM_HOUSEKEEPING)
def update_upstream_conversation(upstream_id: str, metadata: dict[str, Any]) -> None:
    upstream_admin.update_conversation_metadata(upstream_id, metadata)


@celery_app.task(name=task_names.DELETE_UPSTREAM_CONVERSATION, **UPSTREAM_HOUSEKEEPING)
def delete_upstream_conversation(upstream_id: str) -> None:
    upstream_admin.delete_conversation(upstream_id)


@celery_app.task(name=task_names.DELETE_UPSTREAM_FILE, **UPSTREAM_HOUSEKEEPING)
def delete_upstream_file(upstream_id: str) -> None:
    upstream_admin.delete_file(upstream_id)
