"""The Celery worker (`celery -A worker worker`) and beat (`celery -A worker beat`)."""

from typing import Any

from celery.signals import beat_init, setup_logging, worker_init

from shared.core.celery_app import celery_app as app
from shared.core.log_config import configure_logging
from shared.core.settings import get_settings
from shared.jobs.dispatch import dispatch_in_background
from worker import tasks as tasks
from worker.metrics_server import serve_beat_metrics, serve_metrics


@setup_logging.connect
def _configure_logging(**_kwargs: Any) -> None:
    """Celery leaves logging alone when this signal is handled: LOG_FORMAT decides."""
    configure_logging(get_settings())


@worker_init.connect
def _dispatch_in_background(**_kwargs: Any) -> None:
    """Jobs end on many threads at once; one dispatcher thread serves their passes."""
    dispatch_in_background()


@worker_init.connect
def _serve_worker_metrics(**_kwargs: Any) -> None:
    settings = get_settings()
    serve_metrics(settings.BIND_HOST, settings.WORKER_METRICS_PORT, settings.METRICS_TOKEN)


@beat_init.connect
def _serve_beat_metrics(**_kwargs: Any) -> None:
    settings = get_settings()
    serve_beat_metrics(settings.BIND_HOST, settings.BEAT_METRICS_PORT, settings.METRICS_TOKEN)


__all__ = ["app"]
