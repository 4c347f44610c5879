"""Telling an upstream that forgot a turn's context from one that refused the request, and what
the worker does about each."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from shared.conversations.rebuild import NothingToRebuild
from worker.lost_context import lost_context, run_placed
from worker.upstream import UpstreamFailure

URL = "http://upstream.test/v1/responses"


def refusal(status: int, message: str, **fields: Any) -> openai.APIStatusError:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    error.update(fields)
    response = httpx.Response(status, json={"error": error}, request=httpx.Request("POST", URL))
    kind = openai.NotFoundError if status == 404 else openai.BadRequestError
    return kind(message, response=response, body=error)


IN_CONVERSATION = {"model": "m", "input": "hi", "conversation": "conv_1"}
CHAINED = {"model": "m", "input": "hi", "previous_response_id": "resp_1"}
OPENAI_CONVERSATION_GONE = refusal(404, "Conversation with id 'conv_1' not found.")
OFFLINE_CONVERSATION_GONE = refusal(
    404, "Conversation with id 'conv_1' not found.", param="conversation"
)
RESPONSE_GONE = refusal(
    400,
    "Previous response with id 'resp_1' not found.",
    param="previous_response_id",
    code="previous_response_not_found",
)


@pytest.mark.parametrize("exc", [OPENAI_CONVERSATION_GONE, OFFLINE_CONVERSATION_GONE])
def test_a_conversation_not_found_is_a_lost_conversation(exc: openai.APIStatusError) -> None:
    assert lost_context(exc, IN_CONVERSATION) == "conversation"
    assert lost_context(exc, CHAINED) is None  # the request named no conversation


def test_a_previous_response_not_found_is_a_lost_previous_response() -> None:
    assert lost_context(RESPONSE_GONE, CHAINED) == "previous_response"
    assert lost_context(RESPONSE_GONE, IN_CONVERSATION) is None


@pytest.mark.parametrize(
    "exc",
    [
        refusal(404, "The model 'nope' does not exist", param="model"),
        refusal(400, "Invalid 'input': too long.", param="input"),
        refusal(400, "Invalid conversation metadata.", param="metadata"),
    ],
)
def test_other_refusals_are_not_lost_context(exc: openai.APIStatusError) -> None:
    assert lost_context(exc, IN_CONVERSATION) is None
    assert lost_context(exc, CHAINED) is None


class FakeTurn:
    """Stands in for worker.turns.Turn: what rebuilding answers, or raises."""

    def __init__(self, rebuilt: dict[str, Any] | Exception) -> None:
        self._rebuilt = rebuilt
        self.asked: list[tuple[dict[str, Any], str]] = []

    def rebuilt(self, params: dict[str, Any], lost: str) -> dict[str, Any]:
        self.asked.append((params, lost))
        if isinstance(self._rebuilt, Exception):
            raise self._rebuilt
        return self._rebuilt


def calls(*answers: Any) -> tuple[list[dict[str, Any]], Any]:
    sent: list[dict[str, Any]] = []
    queue = list(answers)

    def run(params: dict[str, Any]) -> Any:
        sent.append(params)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return sent, run


def test_a_lost_turn_is_sent_again_rebuilt() -> None:
    rebuilt = {"model": "m", "input": "hi", "conversation": "conv_2"}
    turn = FakeTurn(rebuilt)
    sent, run = calls(OPENAI_CONVERSATION_GONE, "the answer")
    assert run_placed(turn, IN_CONVERSATION, run) == "the answer"  # type: ignore[arg-type]
    assert sent == [IN_CONVERSATION, rebuilt]
    assert turn.asked == [(IN_CONVERSATION, "conversation")]


def test_nothing_left_to_rebuild_fails_the_job_with_its_own_code() -> None:
    turn = FakeTurn(NothingToRebuild("conv_1"))
    sent, run = calls(RESPONSE_GONE)
    with pytest.raises(UpstreamFailure) as failure:
        run_placed(turn, CHAINED, run)  # type: ignore[arg-type]
    assert failure.value.code == "upstream_conversation_lost"
    assert sent == [CHAINED]


def test_a_rebuilt_turn_refused_again_fails_with_its_own_code() -> None:
    rebuilt = {"model": "m", "input": "hi", "conversation": "conv_2"}
    sent, run = calls(OPENAI_CONVERSATION_GONE, OPENAI_CONVERSATION_GONE)
    with pytest.raises(UpstreamFailure) as failure:
        run_placed(FakeTurn(rebuilt), IN_CONVERSATION, run)  # type: ignore[arg-type]
    assert failure.value.code == "upstream_conversation_lost"
    assert len(sent) == 2


def test_other_refusals_pass_through_untouched() -> None:
    refused = refusal(400, "Invalid 'input': too long.", param="input")
    turn = FakeTurn({})
    _, run = calls(refused)
    with pytest.raises(openai.BadRequestError):
        run_placed(turn, IN_CONVERSATION, run)  # type: ignore[arg-type]
    assert turn.asked == []
