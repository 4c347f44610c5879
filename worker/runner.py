"""Runs one job attempt: claim it, call the upstream for it, store what came back."""

from __future__ import annotations

import logging
from typing import Any

from openai.types.responses import Response as UpstreamResponse

from shared import job_states
from shared.job_lifecycle import Claim, Outcome, claim_job, finish_job, store_response
from shared.models import Response
from shared.settings import get_settings
from worker import history
from worker.capabilities import capabilities
from worker.leases import lease_keeper
from worker.upstream import DeltaRelay, UpstreamFailure, classify, run_response

log = logging.getLogger(__name__)

FINAL_STATUSES = {
    "completed": job_states.COMPLETED,
    "incomplete": job_states.INCOMPLETE,
    "failed": job_states.FAILED,
    "cancelled": job_states.CANCELLED,
}


def run_job(job_id: str) -> None:
    claim = claim_job(job_id)
    if claim is None:
        log.info("job %s is not waiting for a worker; message ignored", job_id)
        return
    with lease_keeper.holding(claim.job_id, claim.attempt):
        try:
            outcome = execute(claim)
        except Exception as exc:
            try:
                failure = classify(exc)
            except Exception:
                log.exception("job %s failed unexpectedly", job_id)
                failure = UpstreamFailure("internal_error", "The gateway failed running this job.")
            outcome = Outcome(
                status=job_states.FAILED, error={"code": failure.code, "message": failure.message}
            )
        if not finish_job(claim, outcome):
            log.warning("job %s attempt %s lost its lease; result discarded", job_id, claim.attempt)


def execute(claim: Claim) -> Outcome:
    """Call the upstream for the job and answer how it ended (raises on upstream failure)."""
    caps = capabilities()
    params = history.request_params(claim, base_params(claim), caps)
    relay = DeltaRelay(claim.job_id)
    resume_id = claim.upstream_response_id if caps.background else None
    final = run_response(claim, params, relay, resume_id, caps.background)
    if not store_response(claim, response_row(claim, final)):
        raise UpstreamFailure("lease_lost", "Another attempt took over this job.")
    return outcome_of(final)


def base_params(claim: Claim) -> dict[str, Any]:
    request = claim.request
    params: dict[str, Any] = {
        "model": request.get("model") or get_settings().OPENAI_MODEL,
        "metadata": {**(request.get("metadata") or {}), "job_id": claim.job_id},
        "store": True,
    }
    if claim.kind == "chat":
        params["input"] = [{"role": "user", "content": request["message"]}]
    else:
        params["input"] = request["input"]
    for name in ("instructions", "tools", "text", "reasoning"):
        if request.get(name) is not None:
            params[name] = request[name]
    return params


def response_row(claim: Claim, final: UpstreamResponse) -> Response:
    body = final.model_dump(mode="json")
    return Response(
        id=final.id,
        job_id=claim.job_id,
        user_id=claim.user_id,
        conversation_id=claim.conversation_id,
        model=final.model,
        status=final.status or "completed",
        output_text=final.output_text,
        output=body.get("output") or [],
        usage=body.get("usage"),
    )


def outcome_of(final: UpstreamResponse) -> Outcome:
    body = final.model_dump(mode="json")
    result = {
        "response_id": final.id,
        "output_text": final.output_text,
        "output": body.get("output") or [],
        "usage": body.get("usage"),
        "parsed": None,
    }
    status = FINAL_STATUSES.get(final.status or "completed", job_states.FAILED)
    error = None
    if status == job_states.INCOMPLETE:
        reason = final.incomplete_details.reason if final.incomplete_details else "unknown"
        error = {"code": "incomplete", "message": f"The response stopped early: {reason}."}
    elif status == job_states.FAILED:
        message = final.error.message if final.error else "The model service failed the response."
        error = {"code": "upstream_error", "message": message}
    return Outcome(status=status, result=result, error=error)
