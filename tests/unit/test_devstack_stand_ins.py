"""Which offline stand-ins `make run` starts: none with a key; the offline upstream without
one, and the offline weather service too unless WEATHER_API_URL is set."""

from __future__ import annotations

from ops.devstack import offline_stand_ins
from shared.core.settings import load_settings


def stand_ins(environ: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    env = dict(environ)
    return offline_stand_ins(load_settings(environ), env, "python"), env


def test_with_no_key_and_no_weather_url_both_stand_ins_start() -> None:
    processes, env = stand_ins({"OFFLINE_OPENAI_PORT": "9001", "OFFLINE_WEATHER_PORT": "9002"})
    assert processes == {
        "offline_openai": "python -m offline_openai --port 9001",
        "offline_weather": "python -m offline_weather --port 9002",
    }
    assert env["OPENAI_BASE_URL"] == "http://127.0.0.1:9001/v1"
    assert env["WEATHER_API_URL"] == "http://127.0.0.1:9002/v1/forecast"
    assert env["GEOCODING_API_URL"] == "http://127.0.0.1:9002/v1/search"


def test_a_weather_url_keeps_the_real_weather_service() -> None:
    url = "https://weather.example/v1/forecast"
    processes, env = stand_ins({"WEATHER_API_URL": url})
    assert list(processes) == ["offline_openai"]
    assert env["WEATHER_API_URL"] == url and "GEOCODING_API_URL" not in env


def test_a_key_starts_no_stand_in() -> None:
    processes, env = stand_ins({"OPENAI_API_KEY": "sk-real"})
    assert processes == {}
    assert "WEATHER_API_URL" not in env and "OPENAI_BASE_URL" not in env
