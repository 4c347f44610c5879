"""Pieces of a job's result: partial text while running, and structured output checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from shared.core.clock import utcnow
from shared.core.db import read_session, write_session
from shared.core.errors import DatabaseUnavailable
from shared.core.models import Conversation, Job, Response
from shared.jobs import events
from shared.jobs.lifecycle import (
    Claim,
    Outcome,
    claim_job,
    finish_job,
    renew_leases,
    store_response,
)
from shared.jobs.queries import get_job
from shared.jobs.submission import JobSubmission, submit_job
from tests.unit.chats import submit
from worker.structured import parsed_output
from worker.upstream import UpstreamFailure

SCHEMA_FORMAT = {
    "format": {
        "type": "json_schema",
        "name": "t",
        "schema": {
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 1}},
            "required": ["n"],
            "additionalProperties": False,
        },
    }
}


def test_a_running_job_shows_the_text_generated_so_far(sent: list[str]) -> None:
    job, _ = submit_job(
        JobSubmission(user_id="u", kind="chat", request={"message": "hi"}, new_conversation=True)
    )
    assert claim_job(job.id) is not None
    events.publish_delta(job.id, "Hello", 3)
    events.publish_delta(job.id, " world", 4)
    body = get_job("u", job.id)
    assert body["status"] == "in_progress"
    assert body["result"]["output_text"] == "Hello world"
    assert events.upstream_sequence(job.id) == 4


def test_a_reply_that_satisfies_the_schema_is_parsed() -> None:
    assert parsed_output(SCHEMA_FORMAT, '{"n": 3}') == {"n": 3}
    assert parsed_output(None, "plain text") is None


@pytest.mark.parametrize(
    ("reply", "complaint"),
    [("not json", "not JSON"), ('{"n": 0}', "at n"), ('{"n": 1, "x": 2}', "(root)")],
)
def test_a_reply_that_breaks_the_schema_fails_the_job(reply: str, complaint: str) -> None:
    with pytest.raises(UpstreamFailure) as failure:
        parsed_output(SCHEMA_FORMAT, reply)
    assert failure.value.code == "invalid_structured_output"
    assert complaint in failure.value.message


def test_an_outcome_the_database_refuses_fails_the_job_instead_of_looping(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import DataError

    from shared.jobs import lifecycle
    from worker import runner

    job, _ = submit_job(JobSubmission(user_id="u", kind="response", request={"input": "hi"}))
    claim = claim_job(job.id)
    assert claim is not None
    stored: list[lifecycle.Outcome] = []

    def finish_job(
        claim: lifecycle.Claim, outcome: lifecycle.Outcome, conversation: str | None
    ) -> bool:
        stored.append(outcome)
        if len(stored) == 1:
            raise DataError("INSERT …", {}, ValueError("string contains NUL"))
        return lifecycle.finish_job(claim, outcome, conversation)

    monkeypatch.setattr(runner, "finish_job", finish_job)
    completed = lifecycle.Outcome(status="completed", result={"output_text": "x"})
    assert runner._store(claim, completed, None)
    body = get_job("u", job.id)
    assert body["status"] == "failed"
    assert body["error"]["code"] == "internal_error"
    assert [outcome.status for outcome in stored] == ["completed", "failed"]


def _upstream_response(claim: Claim, response_id: str) -> Response:
    return Response(
        id=response_id,
        job_id=claim.job_id,
        user_id=claim.user_id,
        conversation_id=claim.conversation_id,
        model="m",
        status="completed",
        output_text="hello",
        output=[],
    )


def test_a_finish_stores_the_response_and_points_the_conversation_at_it(sent: list[str]) -> None:
    job = submit("u")
    claim = claim_job(job.id)
    assert claim is not None
    response = _upstream_response(claim, "resp_1")
    assert finish_job(claim, Outcome(status="completed", result={}, response=response))
    with read_session() as session:
        conversation = session.get_one(Conversation, job.conversation_id)
        assert conversation.last_response_id == "resp_1"
        assert session.get(Response, "resp_1") is not None
        assert session.get_one(Job, job.id).status == "completed"


def test_an_attempt_that_lost_the_job_changes_nothing(sent: list[str]) -> None:
    job = submit("u")
    claim = claim_job(job.id)
    assert claim is not None
    with write_session() as session:  # its lease ran out and another attempt took the job
        session.execute(update(Job).where(Job.id == job.id).values(attempts=Job.attempts + 1))
    response = _upstream_response(claim, "resp_lost")
    assert not finish_job(claim, Outcome(status="completed", result={}, response=response))
    with read_session() as session:
        conversation = session.get_one(Conversation, job.conversation_id)
        assert conversation.last_response_id is None
        assert session.get(Response, "resp_lost") is None
        assert session.get_one(Job, job.id).status == "in_progress"


def test_a_response_stored_by_an_earlier_attempt_is_kept_once(sent: list[str]) -> None:
    job = submit("u")
    first = claim_job(job.id)
    assert first is not None
    assert store_response(first, _upstream_response(first, "resp_again"))
    with write_session() as session:  # the first attempt's worker died; the job is sent again
        session.execute(update(Job).where(Job.id == job.id).values(queue_state="sent"))
    second = claim_job(job.id)
    assert second is not None and second.attempt == 2
    # The resumed upstream response is the same one: storing it again is not an error.
    assert store_response(second, _upstream_response(second, "resp_again"))
    response = _upstream_response(second, "resp_again")
    assert finish_job(second, Outcome(status="completed", result={}, response=response))
    with read_session() as session:
        stored = session.scalars(select(Response).where(Response.job_id == job.id)).all()
        assert [row.id for row in stored] == ["resp_again"]


def test_a_claim_carries_what_the_conversation_knows_of_the_upstream(sent: list[str]) -> None:
    job = submit("u")
    with write_session() as session:
        session.execute(
            update(Conversation)
            .where(Conversation.id == job.conversation_id)
            .values(upstream_id="conv_up", last_response_id="resp_before")
        )
    claim = claim_job(job.id)
    assert claim is not None
    assert claim.conversation_upstream_id == "conv_up"
    assert claim.conversation_last_response_id == "resp_before"
    alone, _ = submit_job(JobSubmission(user_id="u", kind="response", request={"input": "hi"}))
    claim = claim_job(alone.id)
    assert claim is not None
    assert claim.conversation_upstream_id is None and claim.conversation_last_response_id is None


def test_renewing_leases_extends_only_the_attempts_still_holding_their_jobs(
    sent: list[str],
) -> None:
    held = [claim_job(submit("u").id) for _ in range(3)]
    assert all(claim is not None for claim in held)
    claims = [claim for claim in held if claim is not None]
    lost, kept, cancelled = claims
    past = datetime(2000, 1, 1, tzinfo=UTC)
    with write_session() as session:
        session.execute(
            update(Job).where(Job.id.in_([c.job_id for c in claims])).values(lease_expires_at=past)
        )
        session.execute(update(Job).where(Job.id == lost.job_id).values(attempts=9))
        session.execute(update(Job).where(Job.id == cancelled.job_id).values(cancel_requested=True))
    assert renew_leases([(c.job_id, c.attempt) for c in claims]) == [cancelled.job_id]
    with read_session() as session:
        leases = {
            row.id: row.lease_expires_at
            for row in session.execute(select(Job.id, Job.lease_expires_at))
        }
    assert leases[lost.job_id] == past
    assert leases[kept.job_id] is not None and leases[kept.job_id] > utcnow()
    assert leases[cancelled.job_id] is not None and leases[cancelled.job_id] > utcnow()


def test_a_claim_the_busy_database_refuses_is_tried_again(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker import runner

    job, _ = submit_job(JobSubmission(user_id="u", kind="response", request={"input": "hi"}))
    tries: list[str] = []

    def busy_once(job_id: str) -> Claim | None:
        tries.append(job_id)
        if len(tries) == 1:
            raise DatabaseUnavailable("The database is busy; try again.")
        return claim_job(job_id)

    ran: list[str] = []
    monkeypatch.setattr(runner, "claim_job", busy_once)
    monkeypatch.setattr(runner, "_run_claimed", lambda claim, _cancel: ran.append(claim.job_id))
    runner.run_job(job.id)
    # Without the second try the job would wait, sent, for the reconciler to send it again.
    assert tries == [job.id, job.id] and ran == [job.id]


# A function call as the Responses API sends it: `async` is the field the SDK names `async_`.
WIRE_CALL = {
    "type": "function_call",
    "id": "fc_1",
    "call_id": "call_1",
    "name": "weather",
    "arguments": '{"city": "Paris"}',
    "async": False,
    "status": "completed",
}


def test_a_stored_function_call_keeps_the_wire_field_names(sent: list[str]) -> None:
    from worker import runner
    from worker.upstream import _response

    job = submit("u")
    claim = claim_job(job.id)
    assert claim is not None
    usage = {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}
    wire = {"id": "resp_fc", "model": "m", "status": "completed", "output": [WIRE_CALL]}
    final = _response({"response": {**wire, "usage": usage}})
    row = runner.response_row(claim, final, None)
    # As the API sent it: wire names only, no SDK attribute names, no fields it did not send.
    assert row.output == [WIRE_CALL] and row.usage == usage
    assert store_response(claim, row)
    # Without Conversations or previous_response_id, the call goes back upstream as input.
    assert continued_input(claim) == [{"role": "user", "content": "hi"}, WIRE_CALL, *TOOL_OUTPUTS]


def test_a_string_input_goes_back_upstream_as_one_message(sent: list[str]) -> None:
    job, _ = submit_job(JobSubmission(user_id="u", kind="response", request={"input": "hi"}))
    claim = claim_job(job.id)
    assert claim is not None
    assert continued_input(claim) == [{"role": "user", "content": "hi"}, *TOOL_OUTPUTS]


TOOL_OUTPUTS = [{"type": "function_call_output", "call_id": "call_1", "output": "{}"}]


def continued_input(claim: Claim) -> Any:
    """The input that hands TOOL_OUTPUTS back to an upstream with no way to chain a response
    (no Conversations, no previous_response_id): the whole history, resent."""
    from worker import turns
    from worker.capabilities import Capabilities

    caps = Capabilities(
        conversations=False, previous_response=False, background=False, retrieve=False
    )
    return turns.Turn(claim, caps).continuation(TOOL_OUTPUTS)["input"]
