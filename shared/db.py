"""The database engine (one per process) and the two kinds of unit of work: read and write."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shared.errors import ApiError
from shared.settings import get_settings

SQLITE_WRITE_OPTION = "gateway_sqlite_write"
SQLITE_BUSY_SECONDS = 5


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling can't take the write lock up front; do it ourselves so a
    # write unit of work never fails half-way on a read-to-write lock upgrade.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(SQLITE_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def build_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Every worker thread may want a connection at once: waiting for one is worse than
        # holding a few idle SQLite handles.
        engine = create_engine(
            url,
            pool_size=20,
            max_overflow=200,
            connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=10,
        max_overflow=40,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={"connect_timeout": 5},
    )


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    return build_engine(url)


def affected(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE; answer how many rows it changed."""
    result = session.execute(statement)
    return int(cast(CursorResult[Any], result).rowcount)


def get_engine() -> Engine:
    return engine_for(get_settings().DATABASE_URL)


@lru_cache(maxsize=4)
def _session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def read_session() -> Iterator[Session]:
    """A session for reads; nothing it does is committed."""
    with _session_factory(get_engine())() as session, _database_errors():
        yield session


@contextmanager
def write_session() -> Iterator[Session]:
    """A session whose work commits as one transaction, or not at all."""
    engine = get_engine()
    with (
        _local_writer_turn(engine),
        _session_factory(engine)() as session,
        _database_errors(),
    ):
        session.connection(execution_options={SQLITE_WRITE_OPTION: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


_sqlite_writer = threading.Lock()


@contextmanager
def _local_writer_turn(engine: Engine) -> Iterator[None]:
    """SQLite has one writer at a time. Threads of one process take turns on a Python lock,
    which wakes the next one at once; left to SQLite's busy handler they would sleep in steps
    of up to 100 ms each, and throughput would collapse under contention."""
    if engine.dialect.name != "sqlite":
        yield
        return
    if not _sqlite_writer.acquire(timeout=SQLITE_BUSY_SECONDS):
        raise ApiError(503, "database_unavailable", "The database is busy; try again.")
    try:
        yield
    finally:
        _sqlite_writer.release()


@contextmanager
def _database_errors() -> Iterator[None]:
    """A database that can't be reached or written becomes 503, never a 500."""
    try:
        yield
    except OperationalError as exc:
        raise ApiError(
            503, "database_unavailable", "The database is unavailable; try again."
        ) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise ApiError(
                503, "database_unavailable", "The database is unavailable; try again."
            ) from exc
        raise
