"""The offline weather service: fixed places, readings derived from any other coordinates, the
same on every call, each marked as sample data."""

from __future__ import annotations

import httpx

from offline_weather.server import SOURCE, OpenMeteoServer, forecast, geocode


def test_a_known_city_is_found_with_or_without_its_country() -> None:
    [place] = geocode("Tokyo, Japan")["results"]
    assert place["name"] == "Tokyo" and place["timezone"] == "Asia/Tokyo"
    assert geocode("Atlantis") == {}


def test_any_coordinates_get_the_same_marked_reading_every_time() -> None:
    first = forecast("12.5", "-45.25")
    assert first == forecast("12.5", "-45.25")
    assert first != forecast("-33.9", "18.4")
    assert first["source"] == SOURCE
    assert set(first["current"]) == {"time", "temperature_2m", "wind_speed_10m", "weather_code"}
    assert -5 <= first["current"]["temperature_2m"] < 35


def test_bad_coordinates_are_a_400_over_http() -> None:
    with OpenMeteoServer() as state:
        answer = httpx.get(f"{state.base_url}/v1/forecast", params={"latitude": "x"})
        missing = httpx.get(f"{state.base_url}/v2/other")
    assert answer.status_code == 400 and answer.json()["error"] is True
    assert missing.status_code == 404
