"""A stand-in for Open-Meteo's geocoding and forecast APIs, served on loopback for tests."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PLACES = {
    "paris": {
        "name": "Paris",
        "latitude": 48.85341,
        "longitude": 2.3488,
        "country": "France",
        "timezone": "Europe/Paris",
    },
    "oslo": {
        "name": "Oslo",
        "latitude": 59.9127,
        "longitude": 10.7461,
        "country": "Norway",
        "timezone": "Europe/Oslo",
    },
}
CURRENT = {
    "time": "2024-07-01T14:00",
    "temperature_2m": 21.4,
    "wind_speed_10m": 11.2,
    "weather_code": 61,
}


@dataclass
class OpenMeteo:
    """How the stand-in answers (`geocoding` / `forecast`: ok, slow, error, redirect, not json,
    missing field) and the requests it saw."""

    port: int = 0
    geocoding: str = "ok"
    forecast: str = "ok"
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        state.requests.append((url.path, query))
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
            place = PLACES.get(query.get("name", "").split(",")[0].strip().lower())
            return self.answer(200, json.dumps({"results": [place]} if place else {}).encode())
        current = dict(CURRENT)
        if mode == "missing field":
            del current["temperature_2m"]
        zone = next(
            (p["timezone"] for p in PLACES.values() if str(p["latitude"]) == query.get("latitude")),
            "GMT",
        )
        body = {"timezone": zone, "current": current, "current_units": {}}
        self.answer(200, json.dumps(body).encode())

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


class OpenMeteoServer:
    """Start with `with OpenMeteoServer() as state:`; `state.base_url` is where it listens."""

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
