"""Each token's webhook signing secret: shown by the admin commands, rotated with an overlap
during which the old secret signs beside the new one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from shared.accounts.tokens import hash_token
from shared.core.clock import utcnow
from shared.core.db import write_session
from shared.core.errors import NotFound
from shared.core.models import ApiToken
from shared.webhooks.signing import new_secret


def rotate_secret(token: str, overlap: timedelta) -> str:
    """Give the token a new secret and answer it; the one it had signs too for `overlap`."""
    with write_session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == hash_token(token)))
        if row is None:
            raise NotFound("not_found", "No such token.")
        if row.webhook_secret and overlap > timedelta(0):
            row.previous_webhook_secret = row.webhook_secret
            row.previous_webhook_secret_until = utcnow() + overlap
        else:
            row.previous_webhook_secret = row.previous_webhook_secret_until = None
        row.webhook_secret = new_secret()
        return row.webhook_secret


def signing_secrets(connection: Connection, token_id: int | None, now: datetime) -> list[str]:
    """The secrets that sign the token's deliveries now: its own, and the one it had before a
    rotation until that one's overlap is over."""
    if token_id is None:
        return []
    row = connection.execute(
        select(
            ApiToken.webhook_secret,
            ApiToken.previous_webhook_secret,
            ApiToken.previous_webhook_secret_until,
        ).where(ApiToken.id == token_id)
    ).first()
    if row is None or row.webhook_secret is None:
        return []
    signing = [row.webhook_secret]
    until = row.previous_webhook_secret_until
    if row.previous_webhook_secret and until is not None and until > now:
        signing.append(row.previous_webhook_secret)
    return signing
