"""The database engine (one per process) and the two kinds of unit of work: read and write."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Engine,
    Executable,
    create_engine,
    event,
    insert,
    inspect,
    literal,
)
from sqlalchemy.dialects.postgresql import Insert as PostgresqlInsert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session, sessionmaker

from shared.core.errors import DatabaseUnavailable
from shared.core.settings import get_settings

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
        deadline = connection.get_execution_options().get(SQLITE_WRITE_OPTION)
        if deadline is None:
            connection.exec_driver_sql("BEGIN")
            return
        # Whatever is left of the writer's deadline is how long a foreign writer may hold us:
        # rounded down to whole seconds while a second or more is left, so the pragma is
        # seldom sent again.
        left = max(1, int((deadline - time.monotonic()) * 1000))
        if left >= 1000:
            left -= left % 1000
        if connection.info.get("busy_timeout") != left:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={left}")
            connection.info["busy_timeout"] = left
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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


def affected(session: Session, statement: Executable, params: dict[str, Any] | None = None) -> int:
    """Run an UPDATE or DELETE on the session's connection; answer how many rows it changed.

    Not through the ORM: it neither flushes pending objects first nor updates loaded ones
    after, and costs less CPU for it (inside SQLite's one-writer turn)."""
    result = session.connection().execute(statement, params)
    return int(cast(CursorResult[Any], result).rowcount)


def one_of(column: InstrumentedAttribute[str], values: Iterable[str]) -> ColumnElement[bool]:
    """`column IN (...)` for a fixed set of values, rendered once with its statement: `in_()` of
    a plain list renders the list again at every execution (an "expanding" parameter)."""
    return column.in_([literal(value) for value in sorted(values)])


def insert_unless_present(
    session: Session, model: type[DeclarativeBase], values: dict[str, Any]
) -> None:
    """INSERT the row unless one with its id exists: one statement, safe when inserts race."""
    connection = session.connection()
    connection.execute(_insert_unless_present(connection.dialect.name, model), values)


def insert_new(session: Session, entity: DeclarativeBase) -> None:
    """INSERT a new entity's row by a statement built once, without the unit of work (whose
    flush costs more CPU than the write, inside SQLite's one-writer turn). The entity is not
    added to the session: give it every value it answers with, defaults included."""
    values = {column: value for column, value in row_values(entity).items() if value is not None}
    session.connection().execute(_insert(type(entity)), values)


def row_values(entity: DeclarativeBase) -> dict[str, Any]:
    """The entity's value for each column its model maps, by column key."""
    return {
        column: getattr(entity, attribute) for attribute, column in _mapped_columns(type(entity))
    }


@lru_cache(maxsize=8)
def _mapped_columns(model: type[DeclarativeBase]) -> tuple[tuple[str, str], ...]:
    """(attribute, column key) of each column `model` maps."""
    return tuple(
        (attribute.key, column.key)
        for attribute in inspect(model).column_attrs
        for column in attribute.columns
    )


@lru_cache(maxsize=8)
def _insert(model: type[DeclarativeBase]) -> Executable:
    return insert(model.__table__)  # type: ignore[arg-type]


@lru_cache(maxsize=8)
def _insert_unless_present(dialect: str, model: type[DeclarativeBase]) -> Executable:
    return upsert_insert(dialect, model).on_conflict_do_nothing(index_elements=["id"])


def upsert_insert(dialect: str, model: type[DeclarativeBase]) -> PostgresqlInsert | SqliteInsert:
    """The dialect's INSERT into the model's table, the one that can say ON CONFLICT."""
    return postgresql_insert(model) if dialect == "postgresql" else sqlite_insert(model)


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
def read_connection() -> Iterator[Connection]:
    """A connection for reads by Core statements, which cost about half the CPU of the ORM's
    loading path; nothing it does is committed."""
    with _database_errors(), get_engine().connect() as connection:
        yield connection


@contextmanager
def write_session(asked_at: float | None = None) -> Iterator[Session]:
    """A session whose work commits as one transaction, or not at all. On SQLite it waits for
    the writer's turn until SQLITE_BUSY_SECONDS after `asked_at` (by default, now)."""
    engine = get_engine()
    with (
        _writer_turn(engine, asked_at) as deadline,
        _session_factory(engine)() as session,
        _database_errors(),
    ):
        session.connection(execution_options={SQLITE_WRITE_OPTION: deadline})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


_sqlite_writer = threading.Lock()


@contextmanager
def _writer_turn(engine: Engine, asked_at: float | None) -> Iterator[float]:
    """SQLite has one writer at a time. Writers take turns on locks that let the next one in at
    once: threads of a process on a Python lock, processes on a file lock beside the database.
    Left to SQLite's busy handler they would sleep in steps of up to 100 ms each, and
    throughput would collapse under contention. Yields the deadline of the whole wait."""
    deadline = (time.monotonic() if asked_at is None else asked_at) + SQLITE_BUSY_SECONDS
    if engine.dialect.name != "sqlite":
        yield deadline
        return
    if not _sqlite_writer.acquire(timeout=max(0.0, deadline - time.monotonic())):
        raise _busy()
    try:
        lock_file = _writer_lock_file(engine.url.database)
        if lock_file is None:
            yield deadline
            return
        _take_file_lock(lock_file, deadline)
        try:
            yield deadline
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    finally:
        _sqlite_writer.release()


def _take_file_lock(lock_file: int, deadline: float) -> None:
    pause = 0.0005
    while True:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise _busy() from None
            time.sleep(pause)
            pause = min(pause * 2, 0.005)


def _busy() -> DatabaseUnavailable:
    return DatabaseUnavailable("The database is busy; try again.")


_lock_files: dict[tuple[int, str], int] = {}


def _writer_lock_file(database: str | None) -> int | None:
    """This process's descriptor of the file lock for a database file (None in memory)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    key = (os.getpid(), database)  # a forked child opens its own: flock is per open file
    if key not in _lock_files:
        _lock_files[key] = os.open(f"{database}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
    return _lock_files[key]


@contextmanager
def _database_errors() -> Iterator[None]:
    """A database that can't be reached or written becomes 503, never a 500."""
    try:
        yield
    except PoolTimeoutError as exc:  # every connection of the pool stayed busy for pool_timeout
        raise _busy() from exc
    except DBAPIError as exc:
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            raise DatabaseUnavailable("The database is unavailable; try again.") from exc
        raise
