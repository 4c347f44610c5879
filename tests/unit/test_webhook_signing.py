"""Webhook signatures per Standard Webhooks, checked against the spec's own implementation
(`standardwebhooks`) and its published example; the client's verifier agrees with both."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from client import WebhookVerificationError as ClientVerificationError
from client import verify_webhook
from shared.accounts.tokens import create_token
from shared.core.clock import utcnow
from shared.core.db import read_connection
from shared.webhooks.secrets import rotate_secret, signing_secrets
from shared.webhooks.signing import new_secret, sign, webhook_headers

# The example of the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_example_signs_the_same() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    moment = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)
    assert Webhook(SPEC_SECRET).sign(SPEC_ID, moment, SPEC_BODY) == SPEC_SIGNATURE


def test_a_delivery_verifies_with_the_reference_implementation_and_the_client() -> None:
    secret = new_secret()
    body = '{"type":"job.completed","data":{"id":"job_1"}}'
    headers = webhook_headers([secret], "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {
        "type": "job.completed",
        "data": {"id": "job_1"},
    }
    assert verify_webhook(secret, headers, body.encode())["data"] == {"id": "job_1"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("job_1", "job_2"), headers)


def test_the_client_refuses_a_wrong_secret_a_changed_body_and_a_stale_timestamp() -> None:
    secret = new_secret()
    body = '{"type":"job.failed"}'
    fresh = webhook_headers([secret], "msg_2", int(time.time()), body)
    with pytest.raises(ClientVerificationError, match="no signature"):
        verify_webhook(new_secret(), fresh, body)
    with pytest.raises(ClientVerificationError, match="no signature"):
        verify_webhook(secret, fresh, body + " ")
    stale = webhook_headers([secret], "msg_2", int(time.time()) - 600, body)
    with pytest.raises(ClientVerificationError, match="too old"):
        verify_webhook(secret, stale, body)
    with pytest.raises(ClientVerificationError, match="missing"):
        verify_webhook(secret, {"webhook-id": "msg_2"}, body)


def test_during_a_rotations_overlap_both_secrets_sign_then_only_the_new_one() -> None:
    token, _ = create_token("rotating")
    with read_connection() as connection:
        token_id = connection.exec_driver_sql("SELECT id FROM api_tokens").scalar_one()
        [old] = signing_secrets(connection, token_id, utcnow())
    new = rotate_secret(token, timedelta(hours=1))
    with read_connection() as connection:
        during = signing_secrets(connection, token_id, utcnow())
        after = signing_secrets(connection, token_id, utcnow() + timedelta(hours=2))
    assert during == [new, old] and after == [new]

    body = '{"type":"job.completed"}'
    headers = webhook_headers(during, "msg_3", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):  # a receiver with either secret accepts it
        assert Webhook(secret).verify(body, headers)
        assert verify_webhook(secret, headers, body)

    newest = rotate_secret(token, timedelta(0))  # no overlap: the old one stops at once
    with read_connection() as connection:
        assert signing_secrets(connection, token_id, utcnow()) == [newest]
