"""Server tools: the catalog the model sees, and get_weather, get_time and calculate as run."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pytest

from offline_openai.tool_calls import Request, plan_calls
from offline_weather.server import SOURCE, OpenMeteo, OpenMeteoServer
from shared.core.settings import get_settings
from shared.jobs.tool_catalog import SERVER_TOOL_NAMES, function_tool
from worker.tools import TOOL_FUNCTIONS, run_server_tool, weather, world_clock
from worker.tools import registry as tool_registry


def run(name: str, **arguments: Any) -> tuple[dict[str, Any], bool]:
    result = run_server_tool(name, json.dumps(arguments))
    return json.loads(result.output), result.ok


@pytest.mark.parametrize("name", sorted(SERVER_TOOL_NAMES))
def test_each_server_tool_is_a_strict_function_tool(name: str) -> None:
    tool = function_tool(name)
    assert tool["type"] == "function" and tool["name"] == name and tool["strict"] is True
    parameters = tool["parameters"]
    assert parameters["type"] == "object" and parameters["additionalProperties"] is False
    assert parameters["required"] == list(parameters["properties"])


def test_function_tool_hands_out_a_fresh_copy_each_time() -> None:
    function_tool("get_weather")["parameters"]["properties"].clear()
    assert function_tool("get_weather")["parameters"]["properties"]["city"]["type"] == "string"


def test_function_tool_names_the_known_tools_for_an_unknown_one() -> None:
    with pytest.raises(KeyError, match="known: calculate, get_time, get_weather"):
        function_tool("get_stock_price")


def test_every_catalog_tool_has_an_implementation() -> None:
    assert set(TOOL_FUNCTIONS) == SERVER_TOOL_NAMES


@pytest.mark.parametrize(
    ("message", "name", "arguments"),
    [
        ("What is the weather in Paris?", "get_weather", {"city": "Paris"}),
        ("What time is it in Europe/Paris?", "get_time", {"timezone": "Europe/Paris"}),
        ("Please calculate 12 * (3 + 4)", "calculate", {"expression": "12 * (3 + 4)"}),
    ],
)
def test_the_offline_model_picks_the_right_tool_and_fills_its_arguments(
    message: str, name: str, arguments: dict[str, str]
) -> None:
    tools = [function_tool(tool) for tool in sorted(SERVER_TOOL_NAMES)]
    calls = plan_calls(Request(text=message, tools=tools, tool_choice="auto", parallel=True))
    assert [(call["name"], json.loads(call["arguments"])) for call in calls] == [(name, arguments)]


@pytest.mark.parametrize(
    ("name", "arguments_json", "complaint"),
    [
        ("get_stock_price", "{}", "no server tool named 'get_stock_price'"),
        ("get_time", "{not json", "not valid JSON"),
        ("get_time", "[]", "is not of type 'object'"),
        ("get_time", "{}", "'timezone' is a required property"),
        ("get_time", '{"timezone": "UTC", "city": "Paris"}', "'city' was unexpected"),
        ("get_time", '{"timezone": 3}', "timezone: 3 is not of type 'string'"),
    ],
)
def test_a_bad_call_fails_with_a_message_instead_of_raising(
    name: str, arguments_json: str, complaint: str
) -> None:
    result = run_server_tool(name, arguments_json)
    assert not result.ok
    assert complaint in json.loads(result.output)["error"]


def test_a_crashing_tool_is_reported_to_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(expression: str) -> dict[str, Any]:
        raise RuntimeError("bug")

    monkeypatch.setattr(tool_registry, "TOOL_FUNCTIONS", MappingProxyType({"calculate": crash}))
    output, ok = run("calculate", expression="1")
    assert not ok and output["error"].startswith("calculate failed unexpectedly")


def test_get_time_gives_the_local_time_weekday_and_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world_clock, "utcnow", lambda: datetime(2024, 7, 1, 12, 0, 5, 9, UTC))
    output, ok = run("get_time", timezone="europe/paris")
    assert ok
    assert output == {
        "timezone": "Europe/Paris",
        "iso": "2024-07-01T14:00:05+02:00",
        "weekday": "Monday",
        "utc_offset": "+02:00",
    }
    assert run("get_time", timezone="America/St_Johns")[0]["utc_offset"] == "-02:30"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "Europe", ""])
def test_get_time_rejects_a_zone_that_is_not_an_iana_name(zone: str) -> None:
    output, ok = run("get_time", timezone=zone)
    assert not ok and output["error"].startswith(f"unknown time zone {zone!r}")


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("12 * (3 + 4) / 2", 42.0),
        ("7 // 2 + 7 % 2", 4),
        ("-2 ** 2", -4),
        ("2 ^ 3 ^ 2", 512),
        ("+1.5e3 - 0.5", 1499.5),
        ("10 ** -400", 0.0),
    ],
)
def test_calculate_evaluates_arithmetic(expression: str, result: float) -> None:
    assert run("calculate", expression=expression) == (
        {"expression": expression, "result": result},
        True,
    )


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("1 / 0", "divides by zero"),
        ("5 % (2 - 2)", "divides by zero"),
        ("9 ** 9 ** 9", "too large"),
        ("10 ** 299 * 10", "too large"),
        ("1e999", "too large"),
        ("(-8) ** 0.5", "not a real number"),
        ("__import__('os').system('true')", "is not allowed"),
        ("x + 1", "is not allowed"),
        ("'a' * 3", "is not a number"),
        ("True + 1", "is not a number"),
        ("1 +", "is not an arithmetic expression"),
        ("   ", "is empty"),
        ("1 + " * 60 + "1", "longer than 200 characters"),
    ],
)
def test_calculate_refuses_what_is_not_safe_arithmetic(expression: str, complaint: str) -> None:
    output, ok = run("calculate", expression=expression)
    assert not ok and complaint in output["error"]


PLACE = {"latitude": 48.85341, "longitude": 2.3488, "country": "France"}
PARIS = {"name": "Paris", **PLACE, "timezone": "Europe/Paris"}
GEOCODE_QUERY = {"count": "1", "language": "en", "format": "json"}
FORECAST_QUERY = {
    "longitude": "2.3488",
    "current": "temperature_2m,wind_speed_10m,weather_code",
    "temperature_unit": "celsius",
    "wind_speed_unit": "kmh",
    "timezone": "auto",
}


@pytest.fixture()
def open_meteo(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenMeteo]:
    with OpenMeteoServer() as state:
        monkeypatch.setenv("WEATHER_API_URL", f"{state.base_url}/v1/forecast")
        monkeypatch.setenv("GEOCODING_API_URL", f"{state.base_url}/v1/search")
        get_settings.cache_clear()
        yield state


def test_get_weather_geocodes_the_city_then_reads_the_current_weather(
    open_meteo: OpenMeteo,
) -> None:
    output, ok = run("get_weather", city=" Paris ")
    assert ok
    assert output == {
        "city": "Paris",
        **PLACE,
        "temperature_c": 21.4,
        "wind_speed_kmh": 11.2,
        "conditions": "rain",
        "observed_at": "2024-07-01T14:00",
        "timezone": "Europe/Paris",
        "source": SOURCE,
    }
    geocode, forecast = open_meteo.requests
    assert geocode == ("/v1/search", {**GEOCODE_QUERY, "name": "Paris"})
    assert forecast == ("/v1/forecast", {**FORECAST_QUERY, "latitude": "48.85341"})


def test_a_city_cannot_point_the_tool_at_another_host(open_meteo: OpenMeteo) -> None:
    city = "http://evil.example/x?y=1#z"
    run("get_weather", city=city)
    assert open_meteo.requests[0] == ("/v1/search", {**GEOCODE_QUERY, "name": city})


def test_get_weather_says_when_no_place_has_that_name(open_meteo: OpenMeteo) -> None:
    output, ok = run("get_weather", city="Atlantis")
    assert not ok and output["error"].startswith("no place called 'Atlantis'")
    assert len(open_meteo.requests) == 1


def test_get_weather_gives_up_on_a_slow_provider_and_names_it(
    open_meteo: OpenMeteo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(weather, "TIMEOUT_SECONDS", 0.2)
    open_meteo.forecast = "slow"
    started = time.monotonic()
    output, ok = run("get_weather", city="Paris")
    assert time.monotonic() - started < 2
    assert not ok
    assert output["error"].startswith(
        f"the weather service at 127.0.0.1:{open_meteo.port} did not answer within 0.2 s"
    )


@pytest.mark.parametrize(
    ("service", "mode", "complaint"),
    [
        ("forecast", "error", "the weather service at {host} answered HTTP 500"),
        ("geocoding", "error", "the geocoding service at {host} answered HTTP 500"),
        ("forecast", "redirect", "the weather service at {host} answered HTTP 302"),
        ("forecast", "not json", "the weather service at {host} sent an answer this tool cannot"),
        ("forecast", "missing field", "cannot read (current.temperature_2m: Field required)"),
    ],
)
def test_get_weather_reports_a_provider_that_misbehaves(
    open_meteo: OpenMeteo, service: str, mode: str, complaint: str
) -> None:
    setattr(open_meteo, service, mode)
    output, ok = run("get_weather", city="Paris")
    assert not ok
    assert complaint.format(host=f"127.0.0.1:{open_meteo.port}") in output["error"]


def test_get_weather_reports_a_provider_that_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GEOCODING_API_URL", f"http://127.0.0.1:{port}/v1/search")
    get_settings.cache_clear()
    output, ok = run("get_weather", city="Paris")
    assert not ok
    assert output["error"].startswith(f"the geocoding service at 127.0.0.1:{port} could not be")


@pytest.mark.parametrize(("city", "complaint"), [("  ", "city is empty"), ("x" * 101, "longer")])
def test_get_weather_refuses_a_city_it_cannot_look_up(city: str, complaint: str) -> None:
    output, ok = run("get_weather", city=city)
    assert not ok and complaint in output["error"]
