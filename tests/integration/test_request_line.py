"""The request line has a limit: past 8 KB gunicorn refuses it with the JSON 414; an over-long
parameter within it is the app's JSON 422."""

from __future__ import annotations

import json

from tests.harness import Stack
from tests.integration.test_http_protocol_errors import exchange


def get(stack: Stack, target: str) -> tuple[int, dict[str, str], bytes]:
    head = f"GET {target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {stack.token}\r\n"
    return exchange(stack, head.encode() + b"Connection: close\r\n\r\n")


def test_a_request_line_past_the_limit_is_a_json_414(stack: Stack) -> None:
    status, headers, body = get(stack, "/v1/jobs?user_id=" + "a" * 9000)
    assert status == 414
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert error["code"] == "uri_too_long" and len(error["message"]) < 300


def test_a_long_parameter_within_the_limit_is_the_apps_422(stack: Stack) -> None:
    status, headers, body = get(stack, "/v1/jobs?user_id=" + "a" * 8000)
    assert status == 422
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]["param"] == "user_id"
