"""The stand-in's HTTP server: Open-Meteo's `/v1/search` (geocoding) and `/v1/forecast`
(current weather) answered from a small fixed gazetteer, every reading marked as offline data."""

from __future__ import annotations

import json
import threading
import zlib
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SOURCE = "offline weather stand-in: sample data, not a real observation"
OBSERVED_AT = "2024-07-01T14:00"

# name, latitude, longitude, country, time zone, °C, wind km/h, WMO weather code
_GAZETTEER = (
    ("Paris", 48.85341, 2.3488, "France", "Europe/Paris", 21.4, 11.2, 61),
    ("Oslo", 59.9127, 10.7461, "Norway", "Europe/Oslo", 16.8, 9.4, 2),
    ("London", 51.50853, -0.12574, "United Kingdom", "Europe/London", 18.2, 14.8, 3),
    ("Berlin", 52.52437, 13.41053, "Germany", "Europe/Berlin", 23.1, 8.6, 1),
    ("Madrid", 40.4165, -3.70256, "Spain", "Europe/Madrid", 31.5, 7.2, 0),
    ("Rome", 41.89193, 12.51133, "Italy", "Europe/Rome", 29.3, 6.1, 0),
    ("New York", 40.71427, -74.00597, "United States", "America/New_York", 26.7, 13.0, 80),
    ("San Francisco", 37.77493, -122.41942, "United States", "America/Los_Angeles", 17.0, 19.4, 45),
    ("Tokyo", 35.6895, 139.69171, "Japan", "Asia/Tokyo", 28.9, 10.1, 63),
    ("Sydney", -33.86785, 151.20732, "Australia", "Australia/Sydney", 13.2, 16.5, 3),
    ("Nairobi", -1.28333, 36.81667, "Kenya", "Africa/Nairobi", 22.0, 12.3, 2),
    ("Reykjavik", 64.13548, -21.89541, "Iceland", "Atlantic/Reykjavik", 11.5, 24.7, 71),
)
PLACES = {
    row[0].lower(): {
        "name": row[0],
        "latitude": row[1],
        "longitude": row[2],
        "country": row[3],
        "timezone": row[4],
    }
    for row in _GAZETTEER
}
_READINGS = {(row[1], row[2]): (row[4], row[5], row[6], row[7]) for row in _GAZETTEER}


@dataclass
class OpenMeteo:
    """How the stand-in answers (`geocoding` / `forecast`: ok, slow, error, redirect, not json,
    missing field: the faults the weather tool's tests need) and the last requests it saw."""

    port: int = 0
    geocoding: str = "ok"
    forecast: str = "ok"
    requests: deque[tuple[str, dict[str, str]]] = field(default_factory=lambda: deque(maxlen=100))
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def geocode(name: str) -> dict[str, Any]:
    """The `/v1/search` body: the gazetteer's place of that name (before any comma), or none."""
    place = PLACES.get(name.split(",")[0].strip().lower())
    return {"results": [place]} if place else {}


def forecast(latitude: str, longitude: str) -> dict[str, Any]:
    """The `/v1/forecast` body: a gazetteer place's reading, or one derived from the
    coordinates, the same on every call."""
    try:
        where = (round(float(latitude), 5), round(float(longitude), 5))
    except ValueError:
        return {"error": True, "reason": "latitude and longitude must be numbers"}
    reading = _READINGS.get(where)
    if reading is None:
        seed = zlib.crc32(f"{where[0]:.2f},{where[1]:.2f}".encode())
        reading = (
            "GMT",
            round(-5 + seed % 400 / 10, 1),
            round(seed % 300 / 10, 1),
            (0, 3, 61)[seed % 3],
        )
    zone, temperature, wind, code = reading
    return {
        "latitude": where[0],
        "longitude": where[1],
        "timezone": zone,
        "current_units": {"temperature_2m": "°C", "wind_speed_10m": "km/h"},
        "current": {
            "time": OBSERVED_AT,
            "temperature_2m": temperature,
            "wind_speed_10m": wind,
            "weather_code": code,
        },
        "source": SOURCE,
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        state.requests.append((url.path, query))
        if url.path not in ("/v1/search", "/v1/forecast"):
            return self.answer(404, b'{"error": true, "reason": "not found"}')
        mode = state.geocoding if url.path == "/v1/search" else state.forecast
        if mode == "slow":
            state.release.wait(5)
        if mode == "error":
            return self.answer(500, b'{"error": true, "reason": "boom"}')
        if mode == "redirect":
            return self.answer(302, b"", {"Location": "http://example.com/elsewhere"})
        if mode == "not json":
            return self.answer(200, b"<html>maintenance</html>")
        if url.path == "/v1/search":
            return self.answer(200, json.dumps(geocode(query.get("name", ""))).encode())
        body = forecast(query.get("latitude", ""), query.get("longitude", ""))
        if mode == "missing field":
            del body["current"]["temperature_2m"]
        self.answer(400 if "error" in body else 200, json.dumps(body).encode())

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the caller gave up waiting and closed the connection

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: OpenMeteo


def serve(host: str, port: int) -> None:
    """Serve in the foreground until interrupted."""
    server = _Server((host, port), _Handler)
    server.state = OpenMeteo(port=server.server_address[1])
    print(f"offline_weather listening on http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class OpenMeteoServer:
    """In this process: `with OpenMeteoServer() as state:`; `state.base_url` is where it listens."""

    def __enter__(self) -> OpenMeteo:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = OpenMeteo(port=self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()
        return self._server.state

    def __exit__(self, *_exc: object) -> None:
        self._server.state.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
