"""Logging for every process: one JSON object a line (LOG_FORMAT=json) or plain text."""

from __future__ import annotations

import logging
import time

from celery.app import trace
from pythonjsonlogger.json import JsonFormatter

from shared.core.log_context import ContextFilter
from shared.core.settings import Settings

# Lines written for every task, beat tick or HTTP request, by logger: (their messages) or None
# for all of the logger's INFO lines. They are DEBUG, so that at INFO a job is one line on the
# worker (its "job finished") and the housekeeping ticks write none.
_ROUTINE: dict[str, tuple[str, ...] | None] = {
    "celery.worker.strategy": (trace.LOG_RECEIVED,),
    "celery.app.trace": (trace.LOG_SUCCESS,),
    "celery.beat": ("Scheduler: Sending due task %s (%s)",),
    "httpx": None,
    "httpx2": None,  # the OpenAI SDK's
}


class _RoutineAtDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or record.name not in _ROUTINE:
            return True
        messages = _ROUTINE[record.name]
        if messages is not None and record.msg not in messages:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


class _JsonLines(JsonFormatter):
    """time (UTC, milliseconds), level, logger, message, every `extra=` field and the log
    context's ids, and the traceback as `exception`."""

    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
            },
            json_default=str,
        )
        self.converter = time.gmtime


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.LOG_FORMAT == "json":
        formatter: logging.Formatter = _JsonLines()
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    handler.addFilter(_RoutineAtDebug())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.LOG_LEVEL)
