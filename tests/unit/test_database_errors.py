"""A database the gateway can't use answers 503 `database_unavailable`, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from shared.core import db
from shared.core.errors import DatabaseUnavailable


@pytest.mark.parametrize("reader", [db.read_session, db.read_connection])
def test_a_request_that_finds_every_pooled_connection_busy_is_told_to_retry(
    reader: Callable[[], AbstractContextManager[Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    engine = create_engine(
        f"sqlite:///{tmp_path / 'pool.db'}", pool_size=1, max_overflow=0, pool_timeout=0.05
    )
    monkeypatch.setattr(db, "get_engine", lambda: engine)
    try:
        with (
            engine.connect(),  # the pool's one connection, held
            pytest.raises(DatabaseUnavailable) as refused,
            reader() as session_or_connection,
        ):
            session_or_connection.execute(select(1))
    finally:
        engine.dispose()
    assert refused.value.code == "database_unavailable"
