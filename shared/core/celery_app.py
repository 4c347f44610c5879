"""The Celery app both sides share: broker settings, routes and the beat schedule."""

from __future__ import annotations

from celery import Celery
from kombu.entity import Queue

from shared.core import task_names
from shared.core.settings import Settings, get_settings


def make_celery(settings: Settings) -> Celery:
    app = Celery("gateway", broker=settings.REDIS_URL)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # No result backend: the one Celery makes for each worker thread (4.6 ms of CPU each,
        # reading every installed package's entry points) can be shared.
        result_backend_thread_safe=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_pool_limit=50,
        # Unacked messages come back after this; it exceeds the longest a task can run, and no
        # task is ever sent with a countdown or ETA, so nothing runs twice because of it.
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_seconds,
            "socket_timeout": 5,
            "socket_connect_timeout": 2,
            "max_connections": 100,
            # A publisher (a submit, a dispatch pass) tries the broker once instead of retrying
            # for seconds: a job it could not send waits in the database for the reconciler.
            "max_retries": 0,
        },
        task_publish_retry=False,
        task_default_queue=task_names.JOBS_QUEUE,
        # A worker started without -Q consumes every queue listed here.
        task_queues=[
            Queue(task_names.JOBS_QUEUE),  # type: ignore[no-untyped-call]
            Queue(task_names.MAINTENANCE_QUEUE),  # type: ignore[no-untyped-call]
            Queue(task_names.WEBHOOKS_QUEUE),  # type: ignore[no-untyped-call]
        ],
        task_routes={
            task_names.RUN_JOB: {"queue": task_names.JOBS_QUEUE},
            task_names.UPDATE_UPSTREAM_CONVERSATION: {"queue": task_names.MAINTENANCE_QUEUE},
            task_names.DELETE_UPSTREAM_CONVERSATION: {"queue": task_names.MAINTENANCE_QUEUE},
            task_names.DELETE_UPSTREAM_FILE: {"queue": task_names.MAINTENANCE_QUEUE},
            task_names.EXPIRE_CONVERSATIONS: {"queue": task_names.MAINTENANCE_QUEUE},
            task_names.RECONCILE_JOBS: {"queue": task_names.MAINTENANCE_QUEUE},
            task_names.PURGE_OLD_DATA: {"queue": task_names.MAINTENANCE_QUEUE},
            task_names.DELIVER_WEBHOOK: {"queue": task_names.WEBHOOKS_QUEUE},
            task_names.SEND_DUE_WEBHOOKS: {"queue": task_names.MAINTENANCE_QUEUE},
        },
        beat_schedule={
            "expire-idle-conversations": {
                "task": task_names.EXPIRE_CONVERSATIONS,
                "schedule": settings.EXPIRY_SWEEP_SECONDS,
                "options": {"expires": settings.EXPIRY_SWEEP_SECONDS},
            },
            "reconcile-jobs": {
                "task": task_names.RECONCILE_JOBS,
                "schedule": settings.RECONCILE_SECONDS,
                "options": {"expires": settings.RECONCILE_SECONDS},
            },
            # Retries fall due, and deliveries whose task the broker lost are sent again.
            "send-due-webhooks": {
                "task": task_names.SEND_DUE_WEBHOOKS,
                "schedule": settings.RECONCILE_SECONDS,
                "options": {"expires": settings.RECONCILE_SECONDS},
            },
            "purge-old-data": {
                "task": task_names.PURGE_OLD_DATA,
                "schedule": 3600.0,
                "options": {"expires": 3600.0},
            },
        },
    )
    return app


celery_app = make_celery(get_settings())
