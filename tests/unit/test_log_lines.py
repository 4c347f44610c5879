"""The JSON log line: UTC time to the millisecond, the log context's ids, the traceback."""

from __future__ import annotations

import json
import logging
import re

import pytest
from celery.app import trace

from shared.core.log_config import configure_logging
from shared.core.log_context import log_fields
from shared.core.settings import load_settings


def last_line(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert isinstance(line, dict)
    return line


def test_a_line_carries_the_context_ids_and_utc_milliseconds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(load_settings({"LOG_FORMAT": "json"}))
    with log_fields(job_id="job_1", request_id="req_1", conversation_id=None):
        logging.getLogger("gateway.test").info("job finished: %s", "completed")
    line = last_line(capsys)
    assert line["message"] == "job finished: completed"
    assert (line["job_id"], line["request_id"]) == ("job_1", "req_1")
    assert "conversation_id" not in line
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(line["time"]))


def test_an_exception_is_one_field_and_odd_extras_are_strings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(load_settings({"LOG_FORMAT": "json"}))
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger("gateway.test").exception("failed", extra={"thing": object()})
    line = last_line(capsys)
    assert line["level"] == "ERROR"
    assert str(line["exception"]).startswith("Traceback (most recent call last):")
    assert "ValueError: bad value" in str(line["exception"])
    assert str(line["thing"]).startswith("<object object")
    assert "exc_info" not in line


def routine_lines() -> None:
    """What Celery's worker and beat, and httpx, write for every task, tick and request."""
    context = {"id": "t1", "name": "worker.reconcile_jobs", "runtime": 0.01, "return_value": None}
    logging.getLogger("celery.worker.strategy").info(trace.LOG_RECEIVED, context)
    logging.getLogger("celery.app.trace").info(trace.LOG_SUCCESS, context)
    logging.getLogger("celery.beat").info(
        "Scheduler: Sending due task %s (%s)", "reconcile", "worker.reconcile_jobs"
    )
    for client in ("httpx", "httpx2"):
        logging.getLogger(client).info('HTTP Request: POST http://x/v1 "HTTP/1.1 200 OK"')


def test_routine_lines_are_debug(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(load_settings({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}))
    routine_lines()
    logging.getLogger("celery.app.trace").info("Task %s[%s] retry: %s", "t", "t1", "later")
    logging.getLogger("celery.beat").info("beat: Starting...")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert [(line["level"], line["message"]) for line in lines] == [
        ("INFO", "Task t[t1] retry: later"),
        ("INFO", "beat: Starting..."),
    ]

    configure_logging(load_settings({"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}))
    routine_lines()
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert len(lines) == 5 and {line["level"] for line in lines} == {"DEBUG"}
    assert lines[1]["message"] == "Task worker.reconcile_jobs[t1] succeeded in 0.01s: None"
