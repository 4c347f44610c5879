"""Upstream housekeeping tasks retry what may pass (unreachable, 429, 5xx), not a final answer."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import openai
import pytest

from worker import tasks, upstream_admin

Answer = Callable[[httpx.Request], httpx.Response]


def upstream(monkeypatch: pytest.MonkeyPatch, answer: Answer) -> list[httpx.Request]:
    """Each housekeeping call goes to `answer`, without the SDK's own retries; returns the calls."""
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return answer(request)

    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handle)),
    )
    monkeypatch.setattr(upstream_admin, "get_openai_client", lambda: client)
    return calls


def status(code: int) -> Answer:
    body = {"error": {"message": f"status {code}", "type": "x", "code": None, "param": None}}
    return lambda _request: httpx.Response(code, json=body)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize("code", [404, 400, 401])
def test_a_final_answer_is_not_retried(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    calls = upstream(monkeypatch, status(code))
    result = tasks.update_upstream_conversation.apply(args=("conv_up", {"k": "v"}))
    assert result.failed() and f"Error code: {code}" in str(result.result)
    assert len(calls) == 1


@pytest.mark.parametrize("answer", [status(429), status(500), status(503), refused])
def test_a_passing_failure_is_retried(monkeypatch: pytest.MonkeyPatch, answer: Answer) -> None:
    calls = upstream(monkeypatch, answer)
    result = tasks.update_upstream_conversation.apply(args=("conv_up", {"k": "v"}))
    assert result.failed()
    assert len(calls) == 1 + tasks.UPSTREAM_HOUSEKEEPING["max_retries"]


def test_deleting_what_is_already_gone_succeeds_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = upstream(monkeypatch, status(404))
    assert tasks.delete_upstream_conversation.apply(args=("conv_up",)).successful()
    assert tasks.delete_upstream_file.apply(args=("file_up",)).successful()
    assert len(calls) == 2
