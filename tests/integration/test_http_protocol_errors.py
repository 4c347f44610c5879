"""Requests gunicorn refuses before the app sees them (malformed header, bad Content-Length,
too-large headers, unknown HTTP version), and chunked bodies it can't read or that are too
large, still get the JSON error body, never HTML or a 500."""

from __future__ import annotations

import json
import socket

import pytest

from tests.harness import Stack

GET = b"GET /v1/jobs HTTP/1.1\r\nHost: localhost\r\n"
POST = b"POST /v1/chat HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"

CASES = {
    "header too large": (GET + b"Authorization: Bearer " + b"a" * 100_000 + b"\r\n\r\n", 431),
    "too many headers": (
        GET + b"".join(b"X-Filler-%d: x\r\n" % number for number in range(101)) + b"\r\n",
        431,
    ),
    "NUL in a header value": (GET + b"X-Test: a\x00b\r\n\r\n", 400),
    "Content-Length abc": (POST + b"Content-Length: abc\r\n\r\n{}", 400),
    "Content-Length -5": (POST + b"Content-Length: -5\r\n\r\n{}", 400),
    "Content-Length twice": (POST + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400),
    "HTTP/9.9": (b"GET /v1/jobs HTTP/9.9\r\nHost: localhost\r\n\r\n", 400),
    "space in the path": (b"GET /v1/jo bs HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    "non-ASCII byte in the query": (b"GET /v1/jobs?q=\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400),
}


def exchange(stack: Stack, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `raw` on a fresh connection; answer the status, headers and body the server sent."""
    with socket.create_connection(("127.0.0.1", stack.api_port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def test_a_well_formed_raw_request_reaches_the_app(stack: Stack) -> None:
    status, _headers, body = exchange(stack, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert status == 200, body


@pytest.mark.parametrize("case", list(CASES))
def test_gunicorn_refusals_are_json(stack: Stack, case: str) -> None:
    raw, expected = CASES[case]
    status, headers, body = exchange(stack, raw)
    assert status == expected, body
    assert headers["content-type"] == "application/json", body
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)["error"]
    assert set(error) == {"type", "code", "message", "param"}
    assert error["code"] == {400: "bad_request", 431: "request_header_fields_too_large"}[expected]
    assert isinstance(error["message"], str) and error["message"]
    assert error["param"] is None


def _chunked_chat(stack: Stack, chunks: bytes) -> tuple[int, dict[str, str], bytes]:
    return exchange(
        stack,
        POST
        + f"Authorization: Bearer {stack.token}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + chunks,
    )


def test_a_malformed_chunk_is_400(stack: Stack) -> None:
    status, headers, body = _chunked_chat(stack, b"zz\r\n{}\r\n0\r\n\r\n")
    assert status == 400, body
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_a_chunked_body_past_the_limit_is_413(stack: Stack) -> None:
    piece = b"x" * 1024 * 1024
    start = b'{"message": "'
    # 10 MiB (MAX_REQUEST_BYTES) and a little: the server stops reading at the limit.
    chunks = b"%x\r\n%s\r\n" % (len(start), start) + (b"%x\r\n" % len(piece) + piece + b"\r\n") * 10
    status, headers, answer = _chunked_chat(stack, chunks + b'2\r\n"}\r\n0\r\n\r\n')
    assert status == 413, answer
    assert headers["content-type"] == "application/json"
    assert json.loads(answer)["error"]["code"] == "payload_too_large"
