"""Settings: read once, a bad value stops start-up naming the variable, all of them documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.core.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_PORT", "eighty"),
        ("CONVERSATION_TTL_MINUTES", "-1"),
        ("RATE_LIMIT", "lots"),
        ("UPSTREAM_HISTORY", "remote"),
        ("SCHEDULING", "random"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as stopped:
        load_settings({name: value})
    assert str(stopped.value).startswith(f"invalid setting {name}:")
    assert "\n" not in str(stopped.value)


def test_floats_and_lists_parse() -> None:
    settings = load_settings(
        {
            "CONVERSATION_TTL_MINUTES": "0.05",
            "MCP_ALLOWED_URLS": "https://a.example/mcp, https://b.example/sse",
            "RATE_LIMIT": "10/second",
        }
    )
    assert settings.conversation_ttl_seconds == pytest.approx(3.0)
    assert settings.MCP_ALLOWED_URLS == ("https://a.example/mcp", "https://b.example/sse")
    assert settings.rate_limit == (10, 1)


def test_the_visibility_timeout_outlasts_the_longest_task() -> None:
    settings = load_settings({})
    longest = settings.JOB_TIMEOUT_SECONDS + settings.upstream_call_budget_seconds
    assert settings.visibility_timeout_seconds > longest


def test_every_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"`{name}`" in readme, name
        assert f"# {name}=" in example, name


def test_the_api_listens_on_this_host_only_unless_told() -> None:
    import importlib

    from api import gunicorn_config

    assert importlib.reload(gunicorn_config).bind == "127.0.0.1:8000"
