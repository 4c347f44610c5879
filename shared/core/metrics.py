"""Every Prometheus metric of the gateway, defined once, with one-line helpers for the call sites.

Label values come from small fixed sets (route templates, kinds, statuses, outcomes), never
from ids or raw paths: every distinct label value is a time series kept for good.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import openai
from prometheus_client import Counter, Gauge, Histogram

from shared.jobs.tool_catalog import SERVER_TOOL_NAMES

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Long polls (`?wait=`, `Prefer: wait=`) hold a request for up to 30 s.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)

# --- the API (gunicorn processes, aggregated through prometheus-client's multiprocess mode) ---

HTTP_REQUESTS = Counter(
    "gateway_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "gateway_http_request_duration_seconds",
    "Time to answer an HTTP request (a stream: until its headers), by route template and method.",
    ["route", "method"],
    buckets=REQUEST_BUCKETS,
)
HTTP_REFUSALS = Counter(
    "gateway_http_refusals_total",
    "Work turned away: 429 and 503 answers, by route template and error code.",
    ["route", "code"],
)
JOBS_SUBMITTED = Counter(
    "gateway_jobs_submitted_total",
    "Jobs accepted (an idempotent replay is not a new job), by kind.",
    ["kind"],
)

# --- the worker ---

JOBS_FINISHED = Counter(
    "gateway_jobs_finished_total",
    "Jobs a worker brought to a terminal status, by kind and status.",
    ["kind", "status"],
)
TOKENS = Counter(
    "gateway_tokens",
    "Tokens the upstream reported for finished jobs, by the model the job asked for and type "
    "(input, output). Per-user counts are in the database (GET /v1/usage), never labels here.",
    ["model", "type"],
)
JOB_QUEUE_WAIT_SECONDS = Histogram(
    "gateway_job_queue_wait_seconds",
    "Time from a job's submit to a worker first starting it, by kind.",
    ["kind"],
    buckets=JOB_BUCKETS,
)
JOB_RUN_SECONDS = Histogram(
    "gateway_job_run_seconds",
    "Time from a worker first starting a job to its end, by kind.",
    ["kind"],
    buckets=JOB_BUCKETS,
)
JOB_RETRIES = Counter(
    "gateway_job_retries_total",
    "Job attempts after the first (the worker was lost or the message sent again), by kind.",
    ["kind"],
)
UPSTREAM_CALLS = Counter(
    "gateway_upstream_calls_total",
    "Upstream response streams followed to their end or failure (after the SDK's own retries), "
    "by operation (create, resume) and outcome.",
    ["operation", "outcome"],
)
UPSTREAM_CALL_SECONDS = Histogram(
    "gateway_upstream_call_duration_seconds",
    "Time an upstream response stream took, by operation.",
    ["operation"],
    buckets=UPSTREAM_BUCKETS,
)
UPSTREAM_CALLS_IN_FLIGHT = Gauge(
    "gateway_upstream_calls_in_flight",
    "Upstream response streams open now.",
    multiprocess_mode="livesum",
)
TOOL_CALLS = Counter(
    "gateway_tool_calls_total",
    "Server tool calls the worker ran, by tool and outcome (ok, error).",
    ["tool", "outcome"],
)
RECONCILED_JOBS = Counter(
    "gateway_reconciled_jobs_total",
    "Jobs the reconciler acted on, by action: requeued (worker lost), resent (message lost), "
    "failed (out of attempts or time).",
    ["action"],
)
UPSTREAM_CONTEXT_REBUILDS = Counter(
    "gateway_upstream_context_rebuilds_total",
    "Turns whose upstream conversation or previous response the upstream no longer had, by "
    "what was lost (conversation, previous_response) and outcome (rebuilt from the gateway's "
    "record, or lost: nothing left to rebuild it from).",
    ["lost", "outcome"],
)
WEBHOOK_ATTEMPTS = Counter(
    "gateway_webhook_attempts_total",
    "Webhook delivery attempts, by outcome: delivered (2xx), http_error (any other answer), "
    "timeout, connection_error, refused (the address or URL the policy refuses).",
    ["outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "gateway_webhook_deliveries_total",
    "Webhook deliveries that are over, by outcome: delivered, or gave_up (not delivered within "
    "WEBHOOK_RETRY_HOURS).",
    ["outcome"],
)
CONVERSATIONS_EXPIRED = Counter(
    "gateway_conversations_expired_total",
    "Conversations the expiry sweep expired.",
)
PURGED_ROWS = Counter(
    "gateway_purged_rows_total",
    "Rows deleted past RETENTION_DAYS, by table.",
    ["table"],
)

# --- read at scrape time by beat's metrics server (one beat: one series per label) ---

QUEUE_DEPTH = Gauge(
    "gateway_queue_depth",
    "Messages waiting on a Celery queue in Redis, by queue.",
    ["queue"],
    registry=None,
)
WEBHOOK_OLDEST_PENDING = Gauge(
    "gateway_webhook_oldest_pending_seconds",
    "Age of the oldest webhook delivery not yet delivered nor given up (0: none).",
    registry=None,
)
ACTIVE_JOBS = Gauge(
    "gateway_jobs_active",
    "Jobs not finished yet, by status, counted in the database.",
    ["status"],
    registry=None,
)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in HTTP_METHODS else "other"
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_REQUEST_SECONDS.labels(route, method).observe(seconds)


def count_refusal(route: str, code: str) -> None:
    HTTP_REFUSALS.labels(route, code).inc()


def count_job_submitted(kind: str) -> None:
    JOBS_SUBMITTED.labels(kind).inc()


def count_job_retry(kind: str) -> None:
    JOB_RETRIES.labels(kind).inc()


def observe_job_finished(
    kind: str, status: str, queue_wait_seconds: float | None, run_seconds: float | None
) -> None:
    JOBS_FINISHED.labels(kind, status).inc()
    if queue_wait_seconds is not None:
        JOB_QUEUE_WAIT_SECONDS.labels(kind).observe(queue_wait_seconds)
    if run_seconds is not None:
        JOB_RUN_SECONDS.labels(kind).observe(run_seconds)


def count_tokens(model: str, input_tokens: int, output_tokens: int) -> None:
    if input_tokens:
        TOKENS.labels(model, "input").inc(input_tokens)
    if output_tokens:
        TOKENS.labels(model, "output").inc(output_tokens)


@contextmanager
def upstream_call(operation: str) -> Iterator[None]:
    """Count and time the upstream call in the block, in flight while it runs."""
    outcome = "ok"
    started = time.perf_counter()
    UPSTREAM_CALLS_IN_FLIGHT.inc()
    try:
        yield
    except BaseException as exc:
        outcome = upstream_outcome(exc)
        raise
    finally:
        UPSTREAM_CALLS_IN_FLIGHT.dec()
        UPSTREAM_CALLS.labels(operation, outcome).inc()
        UPSTREAM_CALL_SECONDS.labels(operation).observe(time.perf_counter() - started)


def upstream_outcome(exc: BaseException) -> str:
    """How an upstream call failed, as a label; `error` is anything but the SDK's errors (the
    stream's error event, a cancelled job)."""
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection_error"
    if isinstance(exc, openai.APIStatusError):
        return "server_error" if exc.status_code >= 500 else "client_error"
    return "error"


def count_tool_call(tool: str, ok: bool) -> None:
    """The model names the tool: a name that is not a server tool counts as `unknown`."""
    label = tool if tool in SERVER_TOOL_NAMES else "unknown"
    TOOL_CALLS.labels(label, "ok" if ok else "error").inc()


def count_reconciled(report: Mapping[str, int]) -> None:
    for action, count in report.items():
        RECONCILED_JOBS.labels(action).inc(count)


def count_context_rebuild(lost: str, outcome: str) -> None:
    UPSTREAM_CONTEXT_REBUILDS.labels(lost, outcome).inc()


def count_webhook_attempt(outcome: str, ended: str | None) -> None:
    WEBHOOK_ATTEMPTS.labels(outcome).inc()
    if ended is not None:
        WEBHOOK_DELIVERIES.labels(ended).inc()


def count_expired_conversations(count: int) -> None:
    CONVERSATIONS_EXPIRED.inc(count)


def count_purged_rows(purged: Mapping[str, int]) -> None:
    for table, count in purged.items():
        PURGED_ROWS.labels(table).inc(count)
