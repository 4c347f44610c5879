"""Where settings come from: the process environment over `.env` (DOTENV_PATH), read once."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.core.settings import SettingsError, get_settings, load_settings


@pytest.fixture()
def dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "gateway.env"
    monkeypatch.setenv("DOTENV_PATH", str(path))
    for name in ("OPENAI_MODEL", "API_PORT", "MCP_ALLOWED_URLS", "LOG_LEVEL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_the_dotenv_file_is_read(dotenv: Path) -> None:
    dotenv.write_text(
        "OPENAI_MODEL=gpt-test\nAPI_PORT=9000\n"
        "MCP_ALLOWED_URLS=https://a.example/mcp,https://b.example/sse\n"
        "GATEWAY_URL=http://127.0.0.1:8000\n"  # the client's: not a gateway setting, ignored
    )
    settings = load_settings()
    assert settings.OPENAI_MODEL == "gpt-test"
    assert settings.API_PORT == 9000
    assert settings.MCP_ALLOWED_URLS == ("https://a.example/mcp", "https://b.example/sse")


def test_the_environment_wins_over_the_dotenv_file(
    dotenv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv.write_text("OPENAI_MODEL=from-file\nLOG_LEVEL=debug\n")
    monkeypatch.setenv("OPENAI_MODEL", "from-env")
    settings = load_settings()
    assert settings.OPENAI_MODEL == "from-env"
    assert settings.LOG_LEVEL == "DEBUG"


def test_an_empty_value_is_unset(dotenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dotenv.write_text("API_PORT=\n")
    monkeypatch.setenv("OPENAI_MODEL", "")
    settings = load_settings()
    assert settings.API_PORT == 8000
    assert settings.OPENAI_MODEL == "gpt-5-nano"
    assert load_settings({"API_PORT": ""}).API_PORT == 8000


def test_names_are_matched_exactly(dotenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("openai_model", "lower-case")
    assert load_settings().OPENAI_MODEL == "gpt-5-nano"


def test_a_bad_value_in_the_dotenv_file_names_its_variable(dotenv: Path) -> None:
    dotenv.write_text("API_PORT=eighty\n")
    with pytest.raises(SettingsError, match=r"^invalid setting API_PORT:"):
        load_settings()


def test_a_given_mapping_ignores_the_process_environment(
    dotenv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv.write_text("API_PORT=9000\n")
    monkeypatch.setenv("OPENAI_MODEL", "from-env")
    settings = load_settings({"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"})
    assert (settings.OPENAI_MODEL, settings.API_PORT) == ("gpt-5-nano", 8000)
    assert settings.OPENAI_BASE_URL == "http://127.0.0.1:1/v1"


def test_settings_are_read_once_and_frozen(dotenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("OPENAI_MODEL", "first")
    settings = get_settings()
    monkeypatch.setenv("OPENAI_MODEL", "second")
    assert get_settings() is settings and settings.OPENAI_MODEL == "first"
    with pytest.raises(ValidationError):
        settings.OPENAI_MODEL = "changed"  # type: ignore[misc]
