"""Pieces of a job's result: partial text while running, and structured output checks."""

from __future__ import annotations

import pytest

from shared import events
from shared.job_lifecycle import claim_job
from shared.job_queries import get_job
from shared.submission import JobSubmission, submit_job
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

    from shared import job_lifecycle
    from worker import runner

    job, _ = submit_job(JobSubmission(user_id="u", kind="response", request={"input": "hi"}))
    claim = claim_job(job.id)
    assert claim is not None
    stored: list[job_lifecycle.Outcome] = []

    def finish_job(claim: job_lifecycle.Claim, outcome: job_lifecycle.Outcome) -> bool:
        stored.append(outcome)
        if len(stored) == 1:
            raise DataError("INSERT …", {}, ValueError("string contains NUL"))
        return job_lifecycle.finish_job(claim, outcome)

    monkeypatch.setattr(runner, "finish_job", finish_job)
    completed = job_lifecycle.Outcome(status="completed", result={"output_text": "x"})
    assert runner._store(claim, completed)
    body = get_job("u", job.id)
    assert body["status"] == "failed"
    assert body["error"]["code"] == "internal_error"
    assert [outcome.status for outcome in stored] == ["completed", "failed"]
