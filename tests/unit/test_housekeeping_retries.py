"""Upstream housekeeping tasks retry what may pass (unreachable, 429, 5xx), not a final answer."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest

from tests.unit.fake_upstream import sdk_client
from worker import tasks, upstream_admin

Answer = Callable[[httpx2.Request], httpx2.Response]


def upstream(monkeypatch: pytest.MonkeyPatch, answer: Answer) -> list[httpx2.Request]:
    """Each housekeeping call goes to `answer`, without the SDK's own retries; returns the calls."""
    calls: list[httpx2.Request] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return answer(request)

    client = sdk_client(handle)
    monkeypatch.setattr(upstream_admin, "get_openai_client", lambda: client)
    return calls


def status(code: int) -> Answer:
    body = {"error": {"message": f"status {code}", "type": "x", "code": None, "param": None}}
    return lambda _request: httpx2.Response(code, json=body)


def refused(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("connection refused", request=request)


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
