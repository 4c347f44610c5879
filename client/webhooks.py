"""Checking a webhook delivery from the gateway (Standard Webhooks): its signature, made with the
`whsec_…` secret of the token that submitted the job, and its timestamp's freshness."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


class WebhookVerificationError(Exception):
    """A delivery that is not the gateway's, or is too old or too new to trust."""


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance_seconds: float = TOLERANCE_SECONDS,
) -> dict[str, Any]:
    """The event (`{"type": "job.completed", "timestamp", "data": <job>}`) once the delivery's
    `webhook-signature` holds a signature by `secret` of `webhook-id.webhook-timestamp.body`
    and its timestamp is within `tolerance_seconds` of now; else WebhookVerificationError.
    Pass the body exactly as received (bytes), before any JSON parsing."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (message_id and timestamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    if abs(time.time() - sent_at) > tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too old or too new")
    text = body.decode() if isinstance(body, bytes) else body
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("the secret is not a whsec_… secret") from None
    expected = hmac.new(key, f"{message_id}.{timestamp}.{text}".encode(), hashlib.sha256).digest()
    for signature in signatures.split():
        version, _, encoded = signature.partition(",")
        try:
            given = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if version == "v1" and hmac.compare_digest(given, expected):
            event: dict[str, Any] = json.loads(text)
            return event
    raise WebhookVerificationError("no signature matches the secret")
