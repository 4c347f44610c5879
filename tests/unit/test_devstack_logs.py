"""`make run`'s log format: text for a person at a terminal, JSON when told or when piped."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.devstack import log_format
from shared.core.settings import load_settings


def test_a_terminal_gets_text_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert log_format(load_settings(), on_terminal=True) == "text"
    assert log_format(load_settings(), on_terminal=False) == "json"
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert log_format(load_settings(), on_terminal=True) == "json"


def test_the_dotenv_file_tells_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    (tmp_path / "gateway.env").write_text("LOG_FORMAT=json\n")
    monkeypatch.setenv("DOTENV_PATH", str(tmp_path / "gateway.env"))
    assert log_format(load_settings(), on_terminal=True) == "json"
