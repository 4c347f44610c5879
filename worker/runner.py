"""Runs one job attempt: claim it, call the upstream (looping through tool calls), store the end."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import openai
from openai.types.responses import Response as UpstreamResponse

from shared.core import metrics
from shared.core.clock import utcnow
from shared.core.errors import DatabaseUnavailable
from shared.core.log_context import add_log_fields, log_fields
from shared.core.models import Response
from shared.core.settings import get_settings
from shared.jobs import events, states
from shared.jobs.lifecycle import (
    Claim,
    Outcome,
    claim_job,
    finish_job,
    job_responses,
    store_response,
)
from worker import turns
from worker.cancellation import Cancelled, CancelToken, cancel_registry
from worker.capabilities import capabilities
from worker.leases import lease_keeper
from worker.lost_context import run_placed
from worker.persist import persist
from worker.structured import parsed_output
from worker.tools import run_server_tool
from worker.upstream import DeltaRelay, UpstreamFailure, classify, run_response

log = logging.getLogger(__name__)

FINAL_STATUSES = {
    "completed": states.COMPLETED,
    "incomplete": states.INCOMPLETE,
    "failed": states.FAILED,
    "cancelled": states.CANCELLED,
}


def run_job(job_id: str) -> None:
    try:
        # A busy database must not cost the job the reconciler's wait for a re-send.
        claim = persist(partial(claim_job, job_id))
    except DatabaseUnavailable as exc:
        log.warning("job %s not claimed (%s); the reconciler sends it again", job_id, exc.message)
        return
    if claim is None:
        log.info("job %s is not waiting for a worker; message ignored", job_id)
        return
    if claim.attempt > 1 and not claim.pending_tool_outputs:  # not a resume after tool outputs
        metrics.count_job_retry(claim.kind)
    with (
        log_fields(
            job_id=claim.job_id,
            request_id=claim.request_id,
            conversation_id=claim.conversation_id,
            attempt=claim.attempt,
        ),
        lease_keeper.holding(claim.job_id, claim.attempt),
        cancel_registry.running(claim.job_id) as cancel,
    ):
        log.debug("job started")
        _run_claimed(claim, cancel)


def _run_claimed(claim: Claim, cancel: CancelToken) -> None:
    history: list[Response] = []
    turn: turns.Turn | None = None
    try:
        history += earlier_responses(claim)
        turn = turns.Turn(claim, capabilities())
        outcome = execute(turn, cancel, history)
    except DatabaseUnavailable as exc:
        # The database is away: this attempt can't record anything. Its lease runs out and
        # the reconciler gives the job to a worker again once the database is back.
        log.warning("job attempt abandoned: %s", exc.message)
        return
    except Exception as exc:
        outcome = _failure(claim, cancel, history, exc)
    if _store(claim, outcome, turn.unsaved_conversation if turn else None):
        log.info(
            "job finished: %s",
            outcome.status,
            extra={"error_code": (outcome.error or {}).get("code")},
        )
        if outcome.status in states.TERMINAL:
            metrics.observe_job_finished(
                claim.kind,
                outcome.status,
                queue_wait_seconds=(claim.started_at - claim.created_at).total_seconds(),
                run_seconds=(utcnow() - claim.started_at).total_seconds(),
            )
    else:
        log.warning("job attempt lost its lease; its result is discarded")


def _store(claim: Claim, outcome: Outcome, unsaved_conversation: str | None) -> bool:
    """Store the outcome (with the upstream conversation the attempt made, if not stored yet);
    one the database refuses (not merely away) fails the job instead, so the job ends rather
    than being run again and again by the reconciler."""
    try:
        return persist(partial(finish_job, claim, outcome, unsaved_conversation))
    except DatabaseUnavailable:
        raise
    except Exception:
        log.exception("job %s: its outcome could not be stored", claim.job_id)
        unstorable = Outcome(
            status=states.FAILED,
            error={"code": "internal_error", "message": "The gateway could not store the result."},
        )
        return persist(partial(finish_job, claim, unstorable, unsaved_conversation))


def earlier_responses(claim: Claim) -> list[Response]:
    """What earlier attempts added to the job's history (a first attempt has nothing yet)."""
    return job_responses(claim.job_id) if claim.attempt > 1 else []


def _failure(claim: Claim, cancel: CancelToken, history: list[Response], exc: Exception) -> Outcome:
    if cancel.cancelled or isinstance(exc, Cancelled):
        return cancelled_outcome(cancel, history)
    try:
        failure = classify(exc)
    except Exception:
        log.exception("job %s failed unexpectedly", claim.job_id)
        failure = UpstreamFailure("internal_error", "The gateway failed running this job.")
    return Outcome(status=states.FAILED, error={"code": failure.code, "message": failure.message})


def execute(turn: turns.Turn, cancel: CancelToken, history: list[Response]) -> Outcome:
    """Call the upstream for the turn's job until the model answers, a caller tool is called, or
    the tool rounds run out; `history` gains each response stored on the way. Raises on upstream
    failure."""
    claim, caps = turn.claim, turn.caps
    relay = DeltaRelay(claim.job_id, resuming=claim.attempt > 1)

    def create(params: dict[str, Any]) -> UpstreamResponse:
        unsaved = turn.unsaved_conversation
        final = run_response(claim, params, relay, None, caps.background, cancel, unsaved)
        if caps.background and relay.created_id is not None:
            turn.unsaved_conversation = None  # stored with the background response's id
        return final

    sent: list[Any] | None = None
    if claim.pending_tool_outputs:
        final = run_placed(turn, turn.continuation(claim.pending_tool_outputs), create)
        sent = claim.pending_tool_outputs
    elif caps.background and claim.upstream_response_id:
        try:
            final = run_response(
                claim, turn.first_params(), relay, claim.upstream_response_id, True, cancel
            )
        except openai.NotFoundError:  # the upstream forgot the response: ask again
            log.warning("upstream no longer has response %s", claim.upstream_response_id)
            final = run_placed(turn, turn.opening_params(), create)
    else:
        final = run_placed(turn, turn.opening_params(), create)
    rounds = 0
    while True:
        add_log_fields(upstream_response_id=final.id)
        row = response_row(claim, final, sent)
        calls = [item for item in final.output if item.type == "function_call"]
        if final.status != "completed" or not calls:
            return outcome_of(claim, final, [*history, row])
        # Stored before the tools run: a retry resumes from here rather than asking again.
        if not persist(partial(store_response, claim, row, turn.unsaved_conversation)):
            raise UpstreamFailure("lease_lost", "Another attempt took over this job.")
        history.append(row)
        outputs = [run_call(claim.job_id, call) for call in calls if turn.is_server_tool(call.name)]
        waiting = [call for call in calls if not turn.is_server_tool(call.name)]
        if waiting:
            return Outcome(
                status=states.REQUIRES_ACTION,
                result=result_of(history, None),
                required_action={
                    "type": "submit_tool_outputs",
                    "tool_calls": [
                        {"call_id": c.call_id, "name": c.name, "arguments": c.arguments}
                        for c in waiting
                    ],
                    "completed_tool_outputs": outputs,
                },
            )
        rounds += 1
        if rounds >= get_settings().MAX_TOOL_ROUNDS:
            raise UpstreamFailure(
                "max_tool_rounds",
                f"The model kept calling tools after {rounds} rounds (MAX_TOOL_ROUNDS).",
            )
        cancel.check()
        sent = outputs
        final = run_placed(turn, turn.continuation(outputs), create)


def run_call(job_id: str, call: Any) -> dict[str, Any]:
    events.publish(
        job_id,
        "tool_call",
        {"call_id": call.call_id, "name": call.name, "arguments": call.arguments},
    )
    result = run_server_tool(call.name, call.arguments)
    events.publish(
        job_id,
        "tool_output",
        {"call_id": call.call_id, "name": call.name, "output": result.output, "ok": result.ok},
    )
    return {"type": "function_call_output", "call_id": call.call_id, "output": result.output}


def response_row(claim: Claim, final: UpstreamResponse, sent: list[Any] | None) -> Response:
    body = final.to_dict(mode="json")
    return Response(
        id=final.id,
        job_id=claim.job_id,
        user_id=claim.user_id,
        conversation_id=claim.conversation_id,
        model=final.model,
        status=final.status or "completed",
        output_text=final.output_text,
        input_items=sent,
        output=body.get("output") or [],
        usage=body.get("usage"),
    )


def result_of(rows: list[Response], parsed: Any) -> dict[str, Any]:
    """The job's result from every response it produced: all calls, outputs and messages."""
    output: list[Any] = []
    usage: dict[str, int] = {}
    for row in rows:
        output += (row.input_items or []) + row.output
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            usage[key] = usage.get(key, 0) + int((row.usage or {}).get(key) or 0)
    last = rows[-1] if rows else None
    return {
        "response_id": last.id if last else None,
        "output_text": last.output_text if last else "",
        "output": output,
        "usage": usage if rows else None,
        "parsed": parsed,
    }


def outcome_of(claim: Claim, final: UpstreamResponse, rows: list[Response]) -> Outcome:
    """How the job ends with `final`, the last of `rows`, which the outcome stores."""
    status = FINAL_STATUSES.get(final.status or "completed", states.FAILED)
    error = None
    parsed = None
    incomplete_details = None
    if status == states.COMPLETED:
        try:
            parsed = parsed_output(claim.request.get("text"), final.output_text)
        except UpstreamFailure as failure:
            status, error = states.FAILED, {"code": failure.code, "message": failure.message}
    elif status == states.INCOMPLETE:
        reason = final.incomplete_details.reason if final.incomplete_details else "unknown"
        error = {"code": "incomplete", "message": f"The response stopped early: {reason}."}
        incomplete_details = {"reason": reason}
    elif status == states.FAILED:
        message = final.error.message if final.error else "The model service failed the response."
        error = {"code": "upstream_error", "message": message}
    elif status == states.CANCELLED:
        error = dict(states.CANCELLED_ERROR)
    result = result_of(rows, parsed)
    if incomplete_details is not None:  # the text so far is kept in output_text
        result["incomplete_details"] = incomplete_details
    return Outcome(status=status, result=result, error=error, response=rows[-1])


def cancelled_outcome(cancel: CancelToken, history: list[Response]) -> Outcome:
    """A cancelled job keeps what it cost: the upstream response's usage, where it can be read."""
    result = result_of(history, None)
    result["output_text"] = result["output_text"] or events.partial_text(cancel.job_id)
    if cancel.upstream_response_id:
        try:
            stopped = turns.retrieve(cancel.upstream_response_id)
            result["response_id"] = stopped.id
            result["usage"] = stopped.usage.to_dict(mode="json") if stopped.usage else None
        except Exception as exc:
            log.info("usage of cancelled response %s unknown: %s", cancel.upstream_response_id, exc)
    return Outcome(
        status=states.CANCELLED,
        result=result,
        error=dict(states.CANCELLED_ERROR),
    )
