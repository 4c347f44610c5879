"""Logging for every process: one JSON object a line (LOG_FORMAT=json) or plain text."""

from __future__ import annotations

import logging
import time

from pythonjsonlogger.json import JsonFormatter

from shared.core.log_context import ContextFilter
from shared.core.settings import Settings


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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.LOG_LEVEL)
