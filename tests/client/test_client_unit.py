"""Unit tests of the client's retry, error mapping and SSE logic over httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from client import (
    AsyncGateway,
    AsyncJob,
    BudgetExceeded,
    ConversationBusy,
    Gateway,
    GatewayError,
    IdempotencyKeyReused,
    Job,
    NotFound,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    cli,
)
from client.errors import error_from_body

JOB = {"id": "job_1", "object": "job", "status": "queued", "conversation_id": "conv_1"}


def error(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"type": "x", "code": code, "message": code, "param": None}}
    return httpx.Response(status, json=body, headers=headers)


def recording_gateway(answers: list[httpx.Response]) -> tuple[Gateway, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    gateway = Gateway("http://gw", "tok", user_id="u1", transport=httpx.MockTransport(handle))
    return gateway, seen


def test_429_honours_retry_after_and_reuses_the_idempotency_key() -> None:
    gateway, seen = recording_gateway(
        [
            error(429, "rate_limited", {"Retry-After": "3"}),
            error(503, "redis_unavailable", {"Retry-After": "2"}),
            httpx.Response(202, json=JOB, headers={"Retry-After": "1"}),
        ]
    )
    slept: list[float] = []
    gateway._sleep = slept.append  # type: ignore[method-assign]
    job = gateway.chat("hi")
    assert job.id == "job_1"
    assert slept == [3.0, 2.0]
    keys = {request.headers["Idempotency-Key"] for request in seen}
    assert len(seen) == 3 and len(keys) == 1
    assert json.loads(seen[0].content) == {"message": "hi", "user_id": "u1"}


def test_retries_are_bounded_and_retry_after_is_capped() -> None:
    answers = [error(429, "rate_limited", {"Retry-After": "999"}) for _ in range(3)]
    gateway, seen = recording_gateway(answers)
    gateway = Gateway(
        "http://gw", "tok", max_retries=2, max_retry_wait=5, transport=gateway._http._transport
    )
    slept: list[float] = []
    gateway._sleep = slept.append  # type: ignore[method-assign]
    with pytest.raises(RateLimited) as raised:
        gateway.chat("hi")
    assert raised.value.retry_after == 999 and raised.value.status == 429
    assert slept == [5, 5] and len(seen) == 3


def test_each_call_gets_its_own_key_and_other_errors_are_not_retried() -> None:
    gateway, seen = recording_gateway(
        [httpx.Response(202, json=JOB), httpx.Response(202, json=JOB), error(409, "x")]
    )
    gateway.chat("a")
    gateway.chat("a")
    assert seen[0].headers["Idempotency-Key"] != seen[1].headers["Idempotency-Key"]
    with pytest.raises(GatewayError) as raised:
        gateway.chat("a")
    assert raised.value.status == 409 and len(seen) == 3


def test_transport_errors_retry_keyed_submits_and_gets() -> None:
    calls = {"n": 0}

    def handle(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(202, json=JOB)

    gateway = Gateway("http://gw", "tok", transport=httpx.MockTransport(handle))
    gateway._sleep = lambda _s: None  # type: ignore[method-assign]
    assert gateway.chat("a").id == "job_1" and calls["n"] == 2


def test_errors_map_by_code_then_by_status() -> None:
    busy = error_from_body(409, {"error": {"code": "conversation_busy"}})
    assert isinstance(busy, ConversationBusy)
    reused = error_from_body(422, {"error": {"code": "idempotency_key_reused", "param": "p"}})
    assert isinstance(reused, IdempotencyKeyReused) and reused.param == "p"
    assert isinstance(error_from_body(404, {"error": {"code": "whatever"}}), NotFound)
    assert isinstance(error_from_body(503, {"error": {"code": "new_code"}}), ServiceUnavailable)
    odd = error_from_body(502, None, "<html>bad gateway</html>")
    assert isinstance(odd, ServerError) and odd.code == "http_502"


FRAMED = (
    b': keep-alive\n\nid: 1-0\nevent: status\ndata: {"status": "in_progress"}\n\n'
    b'id: 2-0\r\nevent: output_text.delta\r\ndata: {"delta":\r\ndata: "a"}\r\n\r\n'
    b'id: 3-0\nevent: status\ndata: {"status": "completed"}\n\n'
)


def framed_stream(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=FRAMED, headers={"Content-Type": "text/event-stream"})


def test_events_skip_comments_and_join_data_lines_sync_and_async() -> None:
    expected = [
        ("1-0", "status", {"status": "in_progress"}),
        ("2-0", "output_text.delta", {"delta": "a"}),
        ("3-0", "status", {"status": "completed"}),
    ]
    gateway = Gateway("http://gw", "tok", transport=httpx.MockTransport(framed_stream))
    events = list(Job(gateway, dict(JOB)).events())
    assert [(e.id, e.event, e.data) for e in events] == expected

    async def run() -> list[Any]:
        transport = httpx.MockTransport(framed_stream)
        async with AsyncGateway("http://gw", "tok", transport=transport) as gw:
            job = AsyncJob(gw, dict(JOB))
            return [(e.id, e.event, e.data) async for e in job.events()]

    assert asyncio.run(run()) == expected


def sse(*frames: tuple[str, str, dict[str, Any]]) -> bytes:
    return "".join(f"id: {i}\nevent: {e}\ndata: {json.dumps(d)}\n\n" for i, e, d in frames).encode()


def test_events_resume_with_last_event_id_after_an_early_end() -> None:
    seen: list[httpx.Request] = []
    streams = [
        sse(
            ("1-0", "status", {"status": "in_progress"}),
            ("2-0", "output_text.delta", {"delta": "a"}),
        ),
        sse(("3-0", "status", {"status": "completed"})),
    ]

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"Content-Type": "text/event-stream"}
        return httpx.Response(200, content=streams.pop(0), headers=headers)

    gateway = Gateway("http://gw", "tok", transport=httpx.MockTransport(handle))
    gateway._sleep = lambda _s: None  # type: ignore[method-assign]
    events = list(Job(gateway, dict(JOB)).events())
    assert [e.id for e in events] == ["1-0", "2-0", "3-0"]
    assert "Last-Event-ID" not in seen[0].headers
    assert seen[1].headers["Last-Event-ID"] == "2-0"


def test_async_retry_after() -> None:
    answers = [error(429, "rate_limited", {"Retry-After": "2"}), httpx.Response(202, json=JOB)]
    keys: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return answers.pop(0)

    async def run() -> list[float]:
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        async with AsyncGateway("http://gw", "t", transport=httpx.MockTransport(handle)) as gw:
            gw._sleep = sleep  # type: ignore[method-assign]
            job = await gw.chat("hi")
            assert job.id == "job_1"
        return slept

    assert asyncio.run(run()) == [2.0]
    assert len(set(keys)) == 1 and len(keys) == 2


def test_the_cli_takes_common_options_before_or_after_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, object]] = []

    class Connected:
        def __enter__(self) -> Connected:
            return self

        def __exit__(self, *_: object) -> None:
            return None

    monkeypatch.setattr(cli, "connect", lambda args: Connected())
    monkeypatch.setattr(cli, "cmd_jobs", lambda gateway, args, out: seen.append(vars(args)) or 0)
    before = CliRunner().invoke(cli.cli, ["--json", "--user", "bob", "jobs", "--limit", "3"])
    after = CliRunner().invoke(cli.cli, ["--user", "bob", "jobs", "--user", "amy"])
    assert before.exit_code == after.exit_code == 0
    assert (seen[0]["user"], seen[0]["json"], seen[0]["limit"]) == ("bob", True, 3)
    assert (seen[1]["user"], seen[1]["json"]) == ("amy", None)


def test_the_cli_without_a_token_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_TOKEN", raising=False)
    monkeypatch.chdir("/")
    refused = CliRunner().invoke(cli.cli, ["jobs"])
    assert refused.exit_code == 2 and "no token" in refused.output


USAGE = {
    "object": "usage",
    "user_id": "u1",
    "from": "2030-05-01",
    "to": "2030-05-17",
    "days": [
        {
            "date": "2030-05-17",
            "input_tokens": 30,
            "output_tokens": 12,
            "total_tokens": 42,
            "jobs": 1,
        }
    ],
    "total": {"input_tokens": 30, "output_tokens": 12, "total_tokens": 42, "jobs": 1},
    "today": {
        "used_tokens": 42,
        "budget_tokens": 100,
        "remaining_tokens": 58,
        "resets_at": 1905292800,
    },
    "this_month": {
        "used_tokens": 42,
        "budget_tokens": None,
        "remaining_tokens": None,
        "resets_at": 1906502400,
    },
}


def test_a_spent_budget_is_raised_at_once_not_retried() -> None:
    gateway, seen = recording_gateway([error(429, "budget_exceeded", {"Retry-After": "3600"})])
    with pytest.raises(BudgetExceeded) as raised:
        gateway.chat("hi")
    assert isinstance(raised.value, RateLimited) and raised.value.retry_after == 3600
    assert len(seen) == 1


def test_usage_names_the_days_and_the_user_sync_and_async() -> None:
    gateway, seen = recording_gateway([httpx.Response(200, json=USAGE)])
    assert gateway.usage(date(2030, 5, 1), "2030-05-17") == USAGE
    assert dict(seen[0].url.params) == {"user_id": "u1", "from": "2030-05-01", "to": "2030-05-17"}
    assert seen[0].url.path == "/v1/usage"
    asked: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, json=USAGE)

    async def run() -> Any:
        async with AsyncGateway("http://gw", "t", transport=httpx.MockTransport(handle)) as gw:
            return await gw.usage()

    assert asyncio.run(run()) == USAGE
    assert not asked[0].url.params


def test_the_cli_prints_usage_against_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    gateway, _seen = recording_gateway([httpx.Response(200, json=USAGE)])
    monkeypatch.setattr(cli, "connect", lambda args: gateway)
    printed = CliRunner().invoke(cli.cli, ["usage", "--from", "2030-05-01", "--token", "t"])
    assert printed.exit_code == 0, printed.output
    assert printed.output.splitlines() == [
        "DAY         INPUT  OUTPUT  TOTAL  JOBS",
        "2030-05-17  30     12      42     1",
        "total       30     12      42     1",
        "today: 42 tokens of 100 (58 left), resets 2030-05-18 00:00 UTC",
        "this month: 42 tokens (no budget)",
    ]


DELIVERY = {
    "id": "msg_1",
    "object": "webhook.delivery",
    "job_id": "job_1",
    "event_type": "job.completed",
    "url": "https://hooks.example.com/gw",
    "status": "pending",
    "created_at": 1,
    "next_attempt_at": 2,
    "finished_at": None,
    "attempts": [
        {
            "attempted_at": 1,
            "duration_ms": 3,
            "status_code": 500,
            "error": None,
            "next_attempt_at": 2,
        }
    ],
}


def test_the_cli_lists_a_jobs_deliveries_and_redelivers_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listing = {"object": "list", "data": [DELIVERY], "has_more": False}
    gateway, seen = recording_gateway(
        [httpx.Response(202, json={**DELIVERY, "id": "msg_2"}), httpx.Response(200, json=listing)]
    )
    monkeypatch.setattr(cli, "connect", lambda args: gateway)
    printed = CliRunner().invoke(cli.cli, ["deliveries", "job_1", "--redeliver", "--token", "t"])
    assert printed.exit_code == 0, printed.output
    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/v1/jobs/job_1/deliveries/redeliver"),
        ("GET", "/v1/jobs/job_1/deliveries"),
    ]
    assert printed.output.splitlines() == [
        "WEBHOOK-ID  EVENT          STATUS   ATTEMPTS  LAST  URL",
        "msg_1       job.completed  pending  1         500   https://hooks.example.com/gw",
    ]
