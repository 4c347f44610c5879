"""LOG_FORMAT: one JSON object a line, extras kept; or plain text."""

from __future__ import annotations

import json
import logging

import pytest

from shared.core.log_config import configure_logging
from shared.core.settings import load_settings


def test_json_lines_carry_the_message_level_and_extras(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(load_settings({"LOG_FORMAT": "json"}))
    logging.getLogger("gateway.test").warning("job %s done", "job_1", extra={"job_id": "job_1"})
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["level"] == "WARNING" and line["logger"] == "gateway.test"
    assert line["message"] == "job job_1 done" and line["job_id"] == "job_1"
    assert line["time"].endswith("Z")


def test_text_lines_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(load_settings({"LOG_FORMAT": "text"}))
    logging.getLogger("gateway.test").info("plain")
    assert capsys.readouterr().err.strip().endswith("INFO gateway.test: plain")
