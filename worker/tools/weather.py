"""get_weather: the current weather in a city from Open-Meteo (geocoding, then the forecast)."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from shared.core.settings import get_settings
from worker.tools.results import ToolError

TIMEOUT_SECONDS = 5.0
MAX_CITY_CHARS = 100

# WMO weather interpretation codes, as Open-Meteo documents them.
WMO_CONDITIONS = {
    0: "clear",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "fog",
    51: "drizzle",
    53: "drizzle",
    55: "drizzle",
    56: "freezing drizzle",
    57: "freezing drizzle",
    61: "rain",
    63: "rain",
    65: "rain",
    66: "freezing rain",
    67: "freezing rain",
    71: "snow",
    73: "snow",
    75: "snow",
    77: "snow grains",
    80: "showers",
    81: "showers",
    82: "showers",
    85: "snow showers",
    86: "snow showers",
    95: "thunderstorm",
    96: "thunderstorm with hail",
    99: "thunderstorm with hail",
}

Body = TypeVar("Body", bound=BaseModel)


class Place(BaseModel):
    name: str
    latitude: float
    longitude: float
    country: str = ""
    timezone: str = ""


class GeocodingBody(BaseModel):
    results: list[Place] = []


class Current(BaseModel):
    time: str
    temperature_2m: float
    wind_speed_10m: float
    weather_code: int


class ForecastBody(BaseModel):
    current: Current
    timezone: str = ""
    source: str = ""  # not Open-Meteo's: the offline stand-in says its readings are sample data


def get_weather(city: str) -> dict[str, Any]:
    city = city.strip()
    if not city:
        raise ToolError("city is empty; name a city, e.g. 'Paris'")
    if len(city) > MAX_CITY_CHARS:
        raise ToolError(f"city is longer than {MAX_CITY_CHARS} characters; name just the city")
    settings = get_settings()
    # The URLs come only from settings and the city only ever travels as a query parameter,
    # so a caller cannot point this tool at another host.
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        places = _fetch(
            client,
            "geocoding",
            settings.GEOCODING_API_URL,
            {"name": city, "count": 1, "language": "en", "format": "json"},
            GeocodingBody,
        ).results
        if not places:
            raise ToolError(f"no place called {city!r} was found; check the spelling")
        place = places[0]
        forecast = _fetch(
            client,
            "weather",
            settings.WEATHER_API_URL,
            {
                "latitude": place.latitude,
                "longitude": place.longitude,
                "current": "temperature_2m,wind_speed_10m,weather_code",
                "temperature_unit": "celsius",
                "wind_speed_unit": "kmh",
                "timezone": "auto",
            },
            ForecastBody,
        )
    code = forecast.current.weather_code
    reading = {
        "city": place.name,
        "country": place.country,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "temperature_c": forecast.current.temperature_2m,
        "wind_speed_kmh": forecast.current.wind_speed_10m,
        "conditions": WMO_CONDITIONS.get(code, f"unknown (WMO code {code})"),
        "observed_at": forecast.current.time,
        "timezone": forecast.timezone or place.timezone,
    }
    return {**reading, "source": forecast.source} if forecast.source else reading


def _fetch(
    client: httpx.Client, service: str, url: str, params: dict[str, Any], body: type[Body]
) -> Body:
    where = f"the {service} service at {_host(url)}"
    try:
        response = client.get(url, params=params)
    except httpx.TimeoutException:
        raise ToolError(
            f"{where} did not answer within {TIMEOUT_SECONDS:g} s; try again later"
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ToolError(f"{where} could not be reached ({type(exc).__name__}: {exc})") from None
    if response.status_code != 200:
        raise ToolError(f"{where} answered HTTP {response.status_code}; try again later")
    try:
        return body.model_validate_json(response.content)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "the body"
        raise ToolError(
            f"{where} sent an answer this tool cannot read ({field}: {problem['msg']})"
        ) from None


def _host(url: str) -> str:
    """Where a service is, for messages: host and port only, never credentials or a query."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or "its configured URL"
    return f"{host}:{port}" if port else host
