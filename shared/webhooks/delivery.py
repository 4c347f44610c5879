"""One attempt at a delivery, as a worker's task makes it: take the delivery (a lease, numbered
like a job's claim so a stale attempt can't write), sign it afresh, POST it, record what came of
it and when it is tried next. A worker killed mid-attempt leaves the lease to run out; the sweep
then sends the delivery again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import insert, or_, update

from shared.core.clock import utcnow
from shared.core.db import affected, write_session
from shared.core.models import WebhookAttempt, WebhookDelivery
from shared.core.settings import Settings, get_settings
from shared.webhooks.backoff import next_attempt_at
from shared.webhooks.outbox import DELIVERED, FAILED, PENDING
from shared.webhooks.secrets import signing_secrets
from shared.webhooks.signing import webhook_headers
from shared.webhooks.targets import RefusedTarget, guarded_client, parse_target

USER_AGENT = "queued-gateway-webhooks/1"


@dataclass(frozen=True)
class _Taken:
    id: str
    attempt: int
    url: str
    payload: str
    created_at: datetime
    signing_secrets: list[str]


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to: `outcome` is delivered, http_error, timeout,
    connection_error or refused; `ended` is delivered or gave_up once the delivery is over."""

    outcome: str
    status_code: int | None = None
    error: str | None = None
    ended: str | None = None


def deliver(delivery_id: str) -> Attempt | None:
    """Make one attempt at the delivery if it is due and no other attempt holds it (else None:
    a duplicate message, or one for a delivery already over)."""
    settings = get_settings()
    taken = _take(delivery_id, settings)
    if taken is None:
        return None
    attempted_at = utcnow()
    started = time.perf_counter()
    attempt = _post(taken, settings)
    duration_ms = int((time.perf_counter() - started) * 1000)
    return _record(taken, attempt, attempted_at, duration_ms, settings)


def _take(delivery_id: str, settings: Settings) -> _Taken | None:
    now = utcnow()
    with write_session() as session:
        row = (
            session.connection()
            .execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    WebhookDelivery.status == PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                    or_(
                        WebhookDelivery.lease_expires_at.is_(None),
                        WebhookDelivery.lease_expires_at < now,
                    ),
                )
                .values(
                    attempts=WebhookDelivery.attempts + 1,
                    lease_expires_at=now + timedelta(seconds=settings.webhook_attempt_seconds),
                    task_sent_at=None,  # its message is taken: the lease says it is in flight
                )
                .returning(
                    WebhookDelivery.attempts,
                    WebhookDelivery.url,
                    WebhookDelivery.payload,
                    WebhookDelivery.token_id,
                    WebhookDelivery.created_at,
                )
            )
            .first()
        )
        if row is None:
            return None
        return _Taken(
            id=delivery_id,
            attempt=row.attempts,
            url=row.url,
            payload=row.payload,
            created_at=row.created_at,
            signing_secrets=signing_secrets(session.connection(), row.token_id, now),
        )


def _post(taken: _Taken, settings: Settings) -> Attempt:
    if not taken.signing_secrets:
        return Attempt("refused", error="refused: the token that signs this webhook is gone")
    headers = webhook_headers(taken.signing_secrets, taken.id, int(time.time()), taken.payload)
    headers.update({"content-type": "application/json", "user-agent": USER_AGENT})
    try:
        # The scheme is checked again (the allow-list may have changed), the address as the
        # connection is made.
        parse_target(taken.url, settings.WEBHOOK_ALLOWED_HOSTS)
        with guarded_client(settings) as client:
            answer = client.send(
                client.build_request("POST", taken.url, content=taken.payload, headers=headers),
                stream=True,  # its body is never read: a receiver can't make us download anything
            )
            answer.close()
        if 200 <= answer.status_code < 300:
            return Attempt("delivered", status_code=answer.status_code)
        return Attempt("http_error", status_code=answer.status_code)
    except RefusedTarget as exc:
        return Attempt("refused", error=f"refused: webhook_url {exc}")
    except httpx.TimeoutException as exc:
        return Attempt("timeout", error=f"timeout: {type(exc).__name__}")
    except httpx.HTTPError as exc:
        return Attempt(
            "connection_error", error=f"connection_error: {str(exc) or type(exc).__name__}"
        )


def _record(
    taken: _Taken, attempt: Attempt, attempted_at: datetime, duration_ms: int, settings: Settings
) -> Attempt:
    now = utcnow()
    retry_at = None
    if attempt.outcome == "delivered":
        ended: str | None = "delivered"
        values = {"status": DELIVERED, "next_attempt_at": None, "finished_at": now}
    else:
        retry_at = next_attempt_at(taken.attempt, taken.created_at, now, settings)
        ended = None if retry_at else "gave_up"
        values = {
            "status": PENDING if retry_at else FAILED,
            "next_attempt_at": retry_at,
            "finished_at": None if retry_at else now,
        }
    with write_session() as session:
        # Fenced: an attempt whose lease ran out and that another attempt took over writes
        # only its own record.
        held = affected(
            session,
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == taken.id,
                WebhookDelivery.attempts == taken.attempt,
                WebhookDelivery.status == PENDING,
            )
            .values(lease_expires_at=None, **values),
        )
        session.connection().execute(
            insert(WebhookAttempt).values(
                delivery_id=taken.id,
                attempted_at=attempted_at,
                duration_ms=duration_ms,
                status_code=attempt.status_code,
                error=attempt.error,
                next_attempt_at=retry_at if held else None,
            )
        )
    return Attempt(attempt.outcome, attempt.status_code, attempt.error, ended if held else None)
