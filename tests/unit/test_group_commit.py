"""Group commit on SQLite: writes arriving while one is committing are committed together, in
one transaction, each undone alone when it fails; a batch that can't commit fails every write."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from shared.accounts.tokens import ensure_user
from shared.core import db
from shared.core.errors import DatabaseUnavailable, InvalidInput
from shared.core.group_commit import Undo, grouped_write
from shared.core.models import User


@pytest.fixture()
def commits() -> Iterator[list[int]]:
    """One entry for each transaction the engine commits."""
    seen: list[int] = []

    def count(_connection: Any) -> None:
        seen.append(1)

    engine = db.get_engine()
    event.listen(engine, "commit", count)
    yield seen
    event.remove(engine, "commit", count)


def users() -> set[str]:
    with db.read_session() as session:
        return set(session.scalars(select(User.id)))


def adding(user_id: str) -> Callable[[Session], str]:
    def write(session: Session) -> str:
        ensure_user(session, user_id)
        return user_id

    return write


def behind_a_held_write(
    writes: list[Callable[[Session], Any]], before_release: Callable[[], Any] = lambda: None
) -> tuple[Future[str], list[Future[Any]]]:
    """Submit `writes` from threads of their own while a first write holds the transaction, so
    that they all queue behind it; then `before_release`, then let the first go. Answers the
    futures of the first and of `writes`, once all have ended."""
    entered, release = threading.Event(), threading.Event()

    def held(session: Session) -> str:
        ensure_user(session, "first")
        entered.set()
        assert release.wait(10)
        return "first"

    with ThreadPoolExecutor(max_workers=len(writes) + 1) as pool:
        first = pool.submit(grouped_write, held)
        assert entered.wait(10)
        futures = [pool.submit(grouped_write, write) for write in writes]
        wait_until_queued(len(writes))
        before_release()
        release.set()
    return first, futures


def wait_until_queued(count: int) -> None:
    from shared.core import group_commit

    for _ in range(1000):
        with group_commit._group._lock:
            if len(group_commit._group._queue) >= count:
                return
        threading.Event().wait(0.01)
    raise AssertionError(f"fewer than {count} writes queued")


def test_writes_that_queue_behind_one_are_committed_together(commits: list[int]) -> None:
    first, futures = behind_a_held_write([adding(f"user-{n}") for n in range(20)])
    assert first.result() == "first"
    assert [future.result() for future in futures] == [f"user-{n}" for n in range(20)]
    assert users() == {"first"} | {f"user-{n}" for n in range(20)}
    assert len(commits) == 2  # the first write's transaction, then one for the twenty


def test_a_failing_write_is_undone_alone_and_its_caller_gets_its_error() -> None:
    def fails(session: Session) -> None:
        ensure_user(session, "doomed")
        raise InvalidInput("bad", "Refused.", "x")

    def undone(session: Session) -> None:
        ensure_user(session, "undone")
        raise Undo("not stored")

    first, futures = behind_a_held_write([adding("before"), fails, undone, adding("after")])
    assert first.result() == "first"
    assert futures[0].result() == "before"
    with pytest.raises(InvalidInput):
        futures[1].result()
    assert futures[2].result() == "not stored"
    assert futures[3].result() == "after"
    assert users() == {"first", "before", "after"}


def test_a_batch_that_cannot_commit_fails_every_write_and_stores_nothing() -> None:
    refusing = threading.Event()

    def refuse(_connection: Any) -> None:
        if refusing.is_set():
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    engine = db.get_engine()
    event.listen(engine, "commit", refuse)
    try:
        # From the release on, the first write's commit is refused, and the next batch's.
        first, futures = behind_a_held_write(
            [adding(f"lost-{n}") for n in range(5)], before_release=refusing.set
        )
    finally:
        event.remove(engine, "commit", refuse)
    for future in [first, *futures]:
        with pytest.raises(DatabaseUnavailable):
            future.result()
    assert users() == set()


def test_a_write_alone_commits_without_a_savepoint(commits: list[int]) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.get_engine(), "before_cursor_execute", record)
    try:
        assert grouped_write(adding("alone")) == "alone"
    finally:
        event.remove(db.get_engine(), "before_cursor_execute", record)
    assert len(commits) == 1
    assert not [s for s in statements if "SAVEPOINT" in s.upper()]
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_a_write_queued_behind_a_waiting_batch_waits_no_longer_than_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_SECONDS", 1)
    foreign = sqlite3.connect(db.get_engine().url.database or "", isolation_level=None)
    foreign.execute("BEGIN IMMEDIATE")

    def timed(write: Callable[[Session], Any]) -> float:
        asked = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            grouped_write(write)
        return time.monotonic() - asked

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(timed, adding("first"))
            time.sleep(0.2)  # the first is waiting for the foreign writer: this one queues
            second = pool.submit(timed, adding("second"))
            waits = first.result(10), second.result(10)
    finally:
        foreign.execute("ROLLBACK")
        foreign.close()
    # Alone each would wait 1 s; counted from the first's start, the second would wait 1.8 s.
    assert all(0.9 <= wait < 1.6 for wait in waits), waits
    assert users() == set()
