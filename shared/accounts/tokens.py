"""API tokens: made random, stored as SHA-256 only, looked up by hash, revocable."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from cachetools import TTLCache
from sqlalchemy import Executable, bindparam, case, select, update
from sqlalchemy.orm import Session

from shared.core.clock import utcnow
from shared.core.db import affected, read_session, upsert_insert, write_session
from shared.core.errors import InvalidInput, NotFound, Unauthenticated
from shared.core.ids import new_id
from shared.core.models import ApiToken, User
from shared.webhooks.signing import new_secret

USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:@-]{1,40}$")
TOKEN_CACHE_SECONDS = 5.0
TOKEN_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Caller:
    """Who a request acts for: a user token acts as its user; a service token names one."""

    token_user_id: str
    kind: str
    token_id: int | None = None
    # Where the token's jobs report when they name no webhook_url of their own.
    webhook_url: str | None = None

    @property
    def is_service(self) -> bool:
        return self.kind == "service"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class _TokenCache:
    """A few seconds of memory for token lookups, so each request needn't query the database.
    Unknown tokens are remembered apart: a flood of bad tokens evicts only other bad tokens."""

    def __init__(self, timer: Callable[[], float] = time.monotonic) -> None:
        self._known: TTLCache[str, Caller] = TTLCache(TOKEN_CACHE_SIZE, TOKEN_CACHE_SECONDS, timer)
        self._unknown: TTLCache[str, bool] = TTLCache(TOKEN_CACHE_SIZE, TOKEN_CACHE_SECONDS, timer)
        self._lock = threading.Lock()

    def get(self, digest: str) -> tuple[bool, Caller | None]:
        with self._lock:
            caller = self._known.get(digest)
            return caller is not None or digest in self._unknown, caller

    def put(self, digest: str, caller: Caller | None) -> None:
        with self._lock:
            if caller is None:
                self._unknown[digest] = True
            else:
                self._known[digest] = caller

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
            self._unknown.clear()


token_cache = _TokenCache()


def authenticate(token: str) -> Caller:
    digest = hash_token(token)
    found, caller = token_cache.get(digest)
    if not found:
        with read_session() as session:
            row = session.execute(
                select(
                    ApiToken.token_sha256,
                    ApiToken.user_id,
                    ApiToken.kind,
                    ApiToken.id,
                    ApiToken.webhook_url,
                ).where(ApiToken.token_sha256 == digest, ApiToken.revoked_at.is_(None))
            ).first()
        # The index found the row by hash; compare in constant time all the same.
        if row is not None and hmac.compare_digest(row.token_sha256, digest):
            caller = Caller(
                token_user_id=row.user_id,
                kind=row.kind,
                token_id=row.id,
                webhook_url=row.webhook_url,
            )
        token_cache.put(digest, caller)
    if caller is None:
        raise Unauthenticated("invalid_token", "The bearer token is missing, unknown or revoked.")
    return caller


def ensure_user(session: Session, user_id: str) -> None:
    """Make the user if missing; safe when many first requests of a new user race. Its name is
    its id, unless another user already has that name (one `tokens create` made before user ids
    followed names): then the id and a random suffix."""
    connection = session.connection()
    connection.execute(
        _insert_user(connection.dialect.name),
        {"id": user_id, "spare_name": f"{user_id}#{secrets.token_hex(4)}"},
    )


@lru_cache(maxsize=2)
def _insert_user(dialect: str) -> Executable:
    named = User.__table__.alias("named")
    name_taken = select(named.c.id).where(named.c.name == bindparam("id")).exists()
    return (
        upsert_insert(dialect, User)
        .values(
            id=bindparam("id"),
            name=case((name_taken, bindparam("spare_name")), else_=bindparam("id")),
        )
        # No conflict target: two first submits of a new user that race both want its name too.
        .on_conflict_do_nothing()
    )


def acting_user_id(caller: Caller, requested_user_id: str | None) -> str:
    """The user a request acts for; a service token must name one."""
    if not caller.is_service:
        if requested_user_id not in (None, caller.token_user_id):
            raise NotFound("not_found", "No such user.", "user_id")
        return caller.token_user_id
    if requested_user_id is None:
        raise InvalidInput("missing_user_id", "A service token must name user_id.", "user_id")
    if not USER_ID_PATTERN.match(requested_user_id):
        raise InvalidInput(
            "invalid_user_id", "user_id must be 1-40 of A-Z a-z 0-9 _ . : @ -", "user_id"
        )
    return requested_user_id


def create_token(
    user_name: str,
    kind: str = "user",
    token: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
) -> tuple[str, str]:
    """A new token for the user named `user_name` (made if missing): (token, user id). Its
    webhooks are signed with `webhook_secret` (a new one if not given), and `webhook_url` is
    its jobs' default webhook."""
    token = token or "gw_" + secrets.token_urlsafe(32)
    with write_session() as session:
        user = session.scalar(select(User).where(User.name == user_name))
        if user is None and USER_ID_PATTERN.match(user_name):
            # The user a service token acting for `user_name` makes: one user either way.
            ensure_user(session, user_name)
            user = session.get_one(User, user_name)
        elif user is None:
            user = User(id=new_id("usr"), name=user_name)
            session.add(user)
            session.flush()
        digest = hash_token(token)
        if session.scalar(select(ApiToken.id).where(ApiToken.token_sha256 == digest)) is None:
            session.add(
                ApiToken(
                    user_id=user.id,
                    token_sha256=digest,
                    kind=kind,
                    webhook_url=webhook_url,
                    webhook_secret=webhook_secret or new_secret(),
                )
            )
        return token, user.id


def revoke_token(token: str) -> bool:
    with write_session() as session:
        revoked = affected(
            session,
            update(ApiToken)
            .where(ApiToken.token_sha256 == hash_token(token), ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow()),
        )
    token_cache.clear()
    return bool(revoked)
