"""Verified tokens are remembered a few seconds, in bounded memory that bad tokens can't flush."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import delete

from shared.accounts.tokens import (
    TOKEN_CACHE_SECONDS,
    TOKEN_CACHE_SIZE,
    Caller,
    _TokenCache,
    authenticate,
    hash_token,
    token_cache,
)
from shared.core.db import write_session
from shared.core.errors import Unauthenticated
from shared.core.models import ApiToken


def test_a_flood_of_bad_tokens_does_not_flush_the_good_ones(token: str) -> None:
    caller = authenticate(token)
    bad = "gw_" + secrets.token_urlsafe(32)
    with pytest.raises(Unauthenticated):
        authenticate(bad)
    assert token_cache.get(hash_token(bad)) == (True, None)
    # The rest of the flood as authenticate remembers each (a database lookup each is slow).
    for index in range(TOKEN_CACHE_SIZE + 1):
        token_cache.put(hash_token(f"bad-{index}"), None)
    with write_session() as session:
        session.execute(delete(ApiToken))
    # Its row is gone: only the cache can still know the token.
    assert authenticate(token) == caller


def test_entries_last_the_cache_seconds() -> None:
    now = [100.0]
    cache = _TokenCache(timer=lambda: now[0])
    caller = Caller(token_user_id="alice", kind="user")
    cache.put("good", caller)
    cache.put("bad", None)
    now[0] += TOKEN_CACHE_SECONDS - 0.1
    assert cache.get("good") == (True, caller)
    assert cache.get("bad") == (True, None)
    now[0] += 0.2
    assert cache.get("good") == (False, None)
    assert cache.get("bad") == (False, None)


def test_good_tokens_are_bounded_too() -> None:
    cache = _TokenCache()
    for index in range(TOKEN_CACHE_SIZE + 10):
        cache.put(hash_token(str(index)), Caller(token_user_id=str(index), kind="user"))
    remembered = sum(cache.get(hash_token(str(index)))[0] for index in range(TOKEN_CACHE_SIZE + 10))
    assert remembered == TOKEN_CACHE_SIZE
    # The most recent are the ones kept.
    assert cache.get(hash_token(str(TOKEN_CACHE_SIZE + 9)))[0]
