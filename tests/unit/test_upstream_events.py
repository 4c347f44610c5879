"""The worker reads a streamed response's events as JSON through the SDK's client: the text
deltas reach the job's events, the final response comes back typed, and an error event ends the
job with the upstream's own words."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from openai.types.responses import ResponseOutputMessage

from shared.jobs import events
from shared.jobs.lifecycle import Claim, claim_job
from tests.unit.chats import submit
from tests.unit.fake_upstream import sdk_client
from worker import upstream
from worker.cancellation import CancelToken

RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-5-nano"}
ANSWER = {
    "type": "message",
    "id": "msg_1",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "Hello there", "annotations": []}],
}


def sse(*payloads: dict[str, Any]) -> bytes:
    frames = [f"event: {each['type']}\ndata: {json.dumps(each)}\n\n" for each in payloads]
    return "".join(frames).encode()


def upstream_streaming(monkeypatch: pytest.MonkeyPatch, body: bytes) -> list[httpx2.Request]:
    """The worker's SDK client answers every request with `body` as an event stream; answers the
    requests it was sent."""
    sent: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = sdk_client(answer)
    monkeypatch.setattr(upstream, "get_openai_client", lambda: client)
    return sent


def claimed() -> Claim:
    claim = claim_job(submit().id)
    assert claim is not None
    return claim


def run(claim: Claim) -> Any:
    relay = upstream.DeltaRelay(claim.job_id, resuming=False)
    params = {"model": "gpt-5-nano", "input": "hi"}
    return upstream.run_response(claim, params, relay, None, False, CancelToken(claim.job_id))


def test_a_streamed_response_relays_its_text_and_ends_typed(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = upstream_streaming(
        monkeypatch,
        sse(
            {"type": "response.created", "sequence_number": 0, "response": RESPONSE},
            {"type": "response.output_text.delta", "sequence_number": 1, "delta": "Hello "},
            {"type": "response.output_text.delta", "sequence_number": 2, "delta": "there"},
            {
                "type": "response.completed",
                "sequence_number": 3,
                "response": {**RESPONSE, "status": "completed", "output": [ANSWER]},
            },
        ),
    )
    claim = claimed()

    final = run(claim)

    assert isinstance(final.output[0], ResponseOutputMessage)
    assert (final.id, final.status, final.output_text) == ("resp_1", "completed", "Hello there")
    assert events.partial_text(claim.job_id) == "Hello there"
    assert events.upstream_sequence(claim.job_id) == 2
    [request] = requests
    assert (request.method, request.url.path) == ("POST", "/v1/responses")
    assert json.loads(request.content) == {
        "model": "gpt-5-nano",
        "input": "hi",
        "stream": True,
        "background": False,
    }


def test_an_error_event_fails_the_call_with_the_upstreams_message(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream_streaming(
        monkeypatch,
        sse(
            {"type": "response.created", "sequence_number": 0, "response": RESPONSE},
            {"type": "error", "code": "server_error", "message": "The model fell over."},
        ),
    )

    with pytest.raises(upstream.UpstreamFailure) as failure:
        run(claimed())

    assert failure.value.code == "upstream_error"
    assert failure.value.message == "The model service reported: The model fell over."


def test_a_resumed_stream_with_nothing_left_to_replay_ends_with_the_stored_response(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A background response that finished while no one followed it (the upstream restarted
    since, keeping the response but not its events) is read back rather than resumed forever."""
    finished = {**RESPONSE, "status": "completed", "output": [ANSWER]}
    requests: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        if request.url.params.get("stream") == "true":  # the resumed stream: already over
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=b"")
        return httpx2.Response(200, json=finished)

    monkeypatch.setattr(upstream, "get_openai_client", lambda: sdk_client(answer))
    claim = claimed()
    relay = upstream.DeltaRelay(claim.job_id, resuming=False)

    final = upstream.run_response(
        claim, {"model": "gpt-5-nano"}, relay, "resp_1", True, CancelToken(claim.job_id)
    )

    assert final.status == "completed" and final.output_text == "Hello there"
    assert [(r.method, r.url.path, r.url.params.get("stream")) for r in requests] == [
        ("GET", "/v1/responses/resp_1", "true"),
        ("GET", "/v1/responses/resp_1", None),
    ]
