"""One upstream response, streamed to its end through the SDK, resumed where the upstream can."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, cast

import openai
from openai import Stream
from openai.types.responses import Response as UpstreamResponse

from shared.core import metrics
from shared.core.log_context import add_log_fields
from shared.core.openai_client import get_openai_client, response_events, resumed_events
from shared.jobs import events
from shared.jobs.lifecycle import Claim, record_upstream_response_id
from worker.cancellation import CancelToken
from worker.persist import persist

log = logging.getLogger(__name__)

END_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
FINISHED_STATUSES = frozenset({"completed", "incomplete", "failed", "cancelled"})
RESUMES_PER_RESPONSE = 3


class UpstreamFailure(Exception):
    """The upstream could not give an answer: a job error code and a message a person can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def classify(exc: Exception) -> UpstreamFailure:
    """Turn an SDK exception (after the SDK's own retries) into the job's error."""
    if isinstance(exc, UpstreamFailure):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamFailure(
            "upstream_timeout",
            "The model service did not answer in time after several tries; retry later.",
        )
    if isinstance(exc, openai.RateLimitError):
        return UpstreamFailure(
            "upstream_rate_limited",
            "The model service kept answering 429 (rate limited) after several tries; "
            "retry later or raise the account's rate limit.",
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return UpstreamFailure(
            "upstream_auth",
            "The model service refused the gateway's credentials; check OPENAI_API_KEY.",
        )
    if isinstance(exc, openai.APIStatusError) and 400 <= exc.status_code < 500:
        return UpstreamFailure(
            "invalid_request", f"The model service rejected the request: {_said(exc)}"
        )
    if isinstance(exc, openai.APIStatusError):
        return UpstreamFailure(
            "upstream_error",
            f"The model service answered HTTP {exc.status_code} after several tries; retry later.",
        )
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamFailure(
            "upstream_error", "The model service could not be reached after several tries."
        )
    raise exc


def _said(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") or (body.get("error") or {}).get("message") or exc.message
    return str(message)[:500]


class DeltaRelay:
    """Republishes an upstream stream's text deltas as job events, remembering the sequence.

    Deltas that arrive within FLUSH_SECONDS of each other go out as one event: readers see the
    same text a few milliseconds later, and Redis sees one write instead of one per token.
    """

    FLUSH_SECONDS = 0.05

    def __init__(self, job_id: str, resuming: bool) -> None:
        self.job_id = job_id
        # How far an earlier attempt got: where a resumed stream starts.
        self.last_sequence: int | None = events.upstream_sequence(job_id) if resuming else None
        self.created_id: str | None = None
        self._pending: list[str] = []
        self._flushed_at = time.monotonic()

    def saw(self, sequence_number: int | None) -> None:
        self.flush()
        self.last_sequence = sequence_number

    def delta(self, text: str, sequence_number: int | None) -> None:
        self._pending.append(text)
        self.last_sequence = sequence_number
        if time.monotonic() - self._flushed_at >= self.FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._pending and self.last_sequence is not None:
            events.publish_delta(self.job_id, "".join(self._pending), self.last_sequence)
            self._pending.clear()
        self._flushed_at = time.monotonic()


def run_response(
    claim: Claim,
    params: dict[str, Any],
    relay: DeltaRelay,
    resume_id: str | None,
    background: bool,
    cancel: CancelToken,
    unsaved_conversation: str | None = None,
) -> UpstreamResponse:
    """Create (or resume) one response and stream it to its end; answer the final response. The
    upstream conversation the attempt made and has not stored yet, if any, is stored with a
    background response's id."""
    client = get_openai_client()
    response_id = resume_id
    for _ in range(RESUMES_PER_RESPONSE + 1):
        cancel.check()
        try:
            with metrics.upstream_call("create" if response_id is None else "resume"):
                if response_id is not None:
                    stream = resumed_events(client, response_id, relay.last_sequence or 0)
                else:
                    stream = response_events(client, params, background)
                cancel.watch(stream, response_id)
                record = response_id is None and background
                final = _follow(stream, claim, relay, cancel, record, unsaved_conversation)
        except openai.APIConnectionError:
            cancel.check()
            response_id = response_id or relay.created_id
            if response_id is None or not background:
                raise
            log.warning(
                "stream of %s broke; resuming after event %s", response_id, relay.last_sequence
            )
            continue
        if final is not None:
            return final
        if not background:
            raise UpstreamFailure("upstream_error", "The model service ended the stream early.")
        response_id = response_id or relay.created_id
        if response_id is not None:
            # A stream may end without its last event: one that finished while no one followed
            # it can have no events left to replay (the upstream restarted, or dropped them).
            stored = client.responses.retrieve(response_id)
            if stored.status in FINISHED_STATUSES:
                return stored
    raise UpstreamFailure("upstream_error", "The model service's stream kept breaking.")


def _response(event: dict[str, Any]) -> UpstreamResponse:
    """The event's response, built as the SDK builds one it does not stream (unvalidated)."""
    return UpstreamResponse.model_construct(**event["response"])


@contextmanager
def _flushing(relay: DeltaRelay) -> Iterator[None]:
    """Whatever ends the stream, the text already received reaches the job's events."""
    try:
        yield
    finally:
        relay.flush()


def _follow(
    stream: Stream[object],
    claim: Claim,
    relay: DeltaRelay,
    cancel: CancelToken,
    record: bool,
    unsaved_conversation: str | None,
) -> UpstreamResponse | None:
    final: UpstreamResponse | None = None
    with stream, _flushing(relay):
        for item in stream:
            if final is not None:
                continue  # past the end event; reading to the end keeps the connection reusable
            cancel.check()
            event = cast("dict[str, Any]", item)
            kind = event["type"]
            if kind == "error":
                raise UpstreamFailure(
                    "upstream_error", f"The model service reported: {event.get('message')}"
                )
            if kind == "response.output_text.delta":
                relay.delta(event["delta"], event.get("sequence_number"))
                continue
            relay.saw(event.get("sequence_number"))
            if kind == "response.created":
                created_id = event["response"]["id"]
                relay.created_id = created_id
                add_log_fields(upstream_response_id=created_id)
                log.debug("upstream response created")
                if record:  # a background response: resumable, and cancellable upstream
                    cancel.watch(stream, created_id)
                    record_ids = partial(
                        record_upstream_response_id, claim, created_id, unsaved_conversation
                    )
                    persist(record_ids)
            elif kind in END_EVENTS:
                final = _response(event)
    return final
