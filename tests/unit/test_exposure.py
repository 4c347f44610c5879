"""Safe when exposed: no guessable token is accepted as a setting, metrics answer only the
metrics token (or loopback without one), and no route takes a token from the URL."""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.core import settings
from shared.core.secret_rules import HOW_TO_MAKE_ONE, MIN_SECRET_LENGTH, secret_weakness
from shared.core.settings import SettingsError, load_settings
from tests.harness import free_port, wait_until
from worker.metrics_server import guarded, serve_metrics

PLACEHOLDERS = [
    "change-me", "changeme", "CHANGE_ME", "secret", "token", "password", "test", "admin",
    "changeme-changeme-changeme-changeme", "your-secret-token-here-please-change-me",
    "password123", "x" * 40, "0" * MIN_SECRET_LENGTH,
]  # fmt: skip
SECRETS = ["BOOTSTRAP_TOKEN", "METRICS_TOKEN"]
METRICS_TOKEN = "metrics-" + "Q7fZ2kLmN9pR4tVw8yB3cD6gH1jK5sX0"
LOOPBACK = ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]
ELSEWHERE = ["203.0.113.7", "10.0.0.5", "192.168.1.20", "2001:db8::1", "::ffff:203.0.113.7"]


# --- the settings refuse a token someone else could know -----------------------------------------


@pytest.mark.parametrize("name", SECRETS)
@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_a_placeholder_secret_stops_start_up_in_one_line(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as stopped:
        load_settings({name: value})
    # One line naming the setting and how to make a good one, without the value itself.
    assert str(stopped.value) in {
        f"invalid setting {name}: a well-known placeholder, not a secret; {HOW_TO_MAKE_ONE}",
        f"invalid setting {name}: a few characters repeated, not a secret; {HOW_TO_MAKE_ONE}",
    }


@pytest.mark.parametrize("name", SECRETS)
def test_a_short_secret_stops_start_up_saying_how_long_it_must_be(name: str) -> None:
    short = secrets.token_urlsafe(32)[: MIN_SECRET_LENGTH - 1]
    with pytest.raises(SettingsError) as stopped:
        load_settings({name: short})
    assert str(stopped.value) == (
        f"invalid setting {name}: shorter than {MIN_SECRET_LENGTH} characters; {HOW_TO_MAKE_ONE}"
    )


@pytest.mark.parametrize("name", SECRETS)
def test_a_generated_secret_and_none_at_all_are_accepted(name: str) -> None:
    made = secrets.token_urlsafe(32)
    assert getattr(load_settings({name: made}), name) == made
    assert getattr(load_settings({}), name) == ""
    # The way the README says to make one, and `make run`'s own dev token, both pass.
    assert secret_weakness("gw_dev_" + secrets.token_urlsafe(24)) is None


# --- /metrics: the token when there is one, loopback when there is none --------------------------


def use_metrics_token(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    monkeypatch.setenv("METRICS_TOKEN", token)
    settings.get_settings.cache_clear()


def scrape(client: FlaskClient, remote_addr: str, **headers: str) -> Any:
    return client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": remote_addr})


def error_code(answer: Any) -> str:
    body = answer.get_json()
    assert set(body["error"]) == {"type", "code", "message", "param"}
    return str(body["error"]["code"])


@pytest.mark.parametrize("remote_addr", LOOPBACK)
def test_without_a_metrics_token_loopback_callers_read_the_metrics(
    client: FlaskClient, remote_addr: str
) -> None:
    answer = scrape(client, remote_addr)
    assert answer.status_code == 200
    assert "gateway_http_requests_total" in answer.get_data(as_text=True)


@pytest.mark.parametrize("remote_addr", ELSEWHERE)
def test_without_a_metrics_token_other_hosts_are_refused(
    client: FlaskClient, remote_addr: str
) -> None:
    answer = scrape(client, remote_addr, Authorization="Bearer anything")
    assert answer.status_code == 403
    assert error_code(answer) == "metrics_loopback_only"
    assert "METRICS_TOKEN" in answer.get_json()["error"]["message"]
    assert "gateway_" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("remote_addr", [*LOOPBACK[:1], *ELSEWHERE[:1]])
def test_with_a_metrics_token_only_that_bearer_token_reads_them(
    app: Flask, monkeypatch: pytest.MonkeyPatch, remote_addr: str
) -> None:
    use_metrics_token(monkeypatch, METRICS_TOKEN)
    client = app.test_client()
    refused = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer " + METRICS_TOKEN[:-1]},
        {"Authorization": "Bearer " + METRICS_TOKEN + "x"},
        {"Authorization": "Basic " + METRICS_TOKEN},
        {"Authorization": METRICS_TOKEN},
    ]
    for headers in refused:
        answer = scrape(client, remote_addr, **headers)
        assert answer.status_code == 401, headers
        assert error_code(answer) == "invalid_metrics_token"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    for scheme in ("Bearer", "bearer"):
        answer = scrape(client, remote_addr, Authorization=f"{scheme} {METRICS_TOKEN}")
        assert answer.status_code == 200
        assert "gateway_http_requests_total" in answer.get_data(as_text=True)


def test_the_metrics_token_is_compared_in_constant_time(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_metrics_token(monkeypatch, METRICS_TOKEN)
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def compare_digest(given: bytes, expected: bytes) -> bool:
        compared.append((given, expected))
        return original(given, expected)

    monkeypatch.setattr("shared.core.metrics_access.hmac.compare_digest", compare_digest)
    assert scrape(client, "127.0.0.1", Authorization="Bearer wrong").status_code == 401
    assert compared == [(b"wrong", METRICS_TOKEN.encode())]


# --- the worker's and beat's metrics servers: the same rule ---------------------------------------


def call_wsgi(app: Any, remote_addr: str, authorization: str | None) -> tuple[str, str]:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "REMOTE_ADDR": remote_addr}
    environ |= {"QUERY_STRING": "", "SERVER_NAME": "worker", "SERVER_PORT": "9101"}
    environ |= {"wsgi.url_scheme": "http"}
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    status: list[str] = []
    body = b"".join(app(environ, lambda line, headers, exc_info=None: status.append(line)))
    return status[0], body.decode()


def served(body: str = "gateway_up 1\n") -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]

    return app


@pytest.mark.parametrize(
    ("token", "remote_addr", "authorization", "status"),
    [
        ("", "127.0.0.1", None, "200 OK"),
        ("", "::1", None, "200 OK"),
        ("", "203.0.113.7", None, "403 Forbidden"),
        ("", "203.0.113.7", "Bearer " + METRICS_TOKEN, "403 Forbidden"),
        (METRICS_TOKEN, "127.0.0.1", None, "401 Unauthorized"),
        (METRICS_TOKEN, "203.0.113.7", "Bearer nope", "401 Unauthorized"),
        (METRICS_TOKEN, "203.0.113.7", "Bearer " + METRICS_TOKEN, "200 OK"),
    ],
)
def test_the_worker_metrics_app_follows_the_api_rule(
    token: str, remote_addr: str, authorization: str | None, status: str
) -> None:
    answered, body = call_wsgi(guarded(served(), token), remote_addr, authorization)
    assert answered == status
    if status == "200 OK":
        assert body == "gateway_up 1\n"
    else:
        assert set(json.loads(body)["error"]) == {"type", "code", "message", "param"}


def test_the_worker_metrics_server_answers_only_its_token_over_http() -> None:
    port = free_port()
    server = serve_metrics("127.0.0.1", port, METRICS_TOKEN)
    assert server is not None
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        refused = wait_until(lambda: httpx.get(url, timeout=2), what="the metrics server")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_metrics_token"
        assert "gateway_" not in refused.text
        bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        answered = httpx.get(url, headers=bearer, timeout=5)
        assert answered.status_code == 200
        assert "gateway_jobs_finished_total" in answered.text
    finally:
        server.shutdown()
        server.server_close()


# --- no token in a URL, on any route ------------------------------------------------------------


def example_paths(app: Flask) -> Iterable[tuple[str, str]]:
    """(method, path) for every rule in the URL map, its variables filled in."""
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: f"{m[1]}-example", rule.rule)
        for method in sorted(rule.methods or ()):
            yield method, path


def test_every_route_is_covered(app: Flask) -> None:
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/v1/chat", "/v1/jobs/<job_id>", "/metrics", "/healthz", "/", "/openapi.json"} <= rules
    examples = list(example_paths(app))
    assert len({path for _, path in examples}) == len(rules)  # one example path a rule
    assert {"HEAD", "OPTIONS"} <= {method for method, _ in examples}


@pytest.mark.parametrize("parameter", ["token", "access_token", "Access_Token"])
def test_a_token_in_the_url_is_refused_on_every_route(
    app: Flask, service_token: str, parameter: str
) -> None:
    client = app.test_client()
    for method, path in example_paths(app):
        for headers in ({}, {"Authorization": f"Bearer {service_token}"}):
            answer = client.open(
                path, method=method, query_string={parameter: service_token}, headers=headers
            )
            where = f"{method} {path}?{parameter}="
            assert answer.status_code == 401, where
            if method != "HEAD":
                error = answer.get_json()["error"]
                assert error["code"] == "token_in_url", where
                assert error["param"] == parameter
                assert "Authorization: Bearer" in error["message"]
                assert service_token not in answer.get_data(as_text=True)


def test_other_query_parameters_still_reach_the_route(client: FlaskClient, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/jobs", query_string={"limit": "1"}, headers=headers).status_code == 200
    unknown = client.get("/v1/jobs", query_string={"tokens": "x"}, headers=headers)
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["code"] == "unknown_parameter"
