"""The Celery worker (`celery -A worker worker`) and beat (`celery -A worker beat`)."""

from shared.celery_app import celery_app as app
from worker import tasks as tasks

__all__ = ["app"]
