"""SQLite's one writer: a write unit of work waits for a foreign writer (one that doesn't take
the gateway's turn locks) no longer than its deadline, then answers 503 having written nothing."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import func, select

from shared.accounts.tokens import ensure_user
from shared.core import db
from shared.core.errors import DatabaseUnavailable
from shared.core.models import User


def _user_count() -> int:
    with db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_a_writer_gives_up_on_a_foreign_writer_at_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with db.write_session() as session:  # a write under the full deadline (5 s) goes first
        ensure_user(session, "early")
    before = _user_count()
    monkeypatch.setattr(db, "SQLITE_BUSY_SECONDS", 1)
    foreign = sqlite3.connect(db.get_engine().url.database or "", isolation_level=None)
    foreign.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable) as refused, db.write_session() as session:
            ensure_user(session, "late")
        waited = time.monotonic() - started
    finally:
        foreign.execute("ROLLBACK")
        foreign.close()
    assert refused.value.code == "database_unavailable"
    assert 0.9 <= waited < 3, f"waited {waited:.1f} s for a 1 s deadline"
    assert _user_count() == before
    with db.write_session() as session:  # the writer is gone: the same write goes through
        ensure_user(session, "late")
    assert _user_count() == before + 1
