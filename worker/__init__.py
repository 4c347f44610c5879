"""The Celery worker (`celery -A worker worker`) and beat (`celery -A worker beat`)."""

from typing import Any

from celery.signals import setup_logging

from shared.celery_app import celery_app as app
from shared.log_config import configure_logging
from shared.settings import get_settings
from worker import tasks as tasks


@setup_logging.connect
def _configure_logging(**_kwargs: Any) -> None:
    """Celery leaves logging alone when this signal is handled: LOG_FORMAT decides."""
    configure_logging(get_settings())


__all__ = ["app"]
