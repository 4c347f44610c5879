"""Group commit: a process's threads that write to SQLite at once share one transaction.

SQLite lets one writer in at a time. Left to take turns, hundreds of worker threads spend their
time queued for it (a slow upstream's run: 254 of 282 busy threads waiting), and each turn pays
BEGIN, COMMIT, the writer's file lock and the GIL's hand-offs between threads. Here a write joins
a queue; the thread that finds no one leading leads: it runs every write queued so far in one
transaction, each in a savepoint of its own so that one write's failure undoes only that write,
commits them together, gives each thread its answer, and passes the lead to the oldest write that
arrived meanwhile. A write alone pays what it paid before: a batch of one has no savepoint.

PostgreSQL's writers do not wait for one another: there each write keeps a transaction of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from shared.core.db import get_engine, write_session

T = TypeVar("T")


class Undo(Exception):
    """Raised by a write to undo what it wrote and answer `answer` instead."""

    def __init__(self, answer: Any = None) -> None:
        super().__init__()
        self.answer = answer


def grouped_write(write: Callable[[Session], T]) -> T:
    """Run `write` in a write transaction, with whatever other threads of this process are
    writing at the same moment on SQLite; answer what it answers (see `Undo`). Raises what it
    raises, or DatabaseUnavailable when the transaction could not be committed."""
    if get_engine().dialect.name != "sqlite":
        with write_session() as session:
            return cast(T, _run_alone(session, write))
    return cast(T, _group.write(write))


@dataclass(eq=False)
class _Write:
    run: Callable[[Session], Any]
    asked_at: float = field(default_factory=time.monotonic)
    answer: Any = None
    error: BaseException | None = None
    done: bool = False
    wake: threading.Event = field(default_factory=threading.Event)


class _Group:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Write] = []
        self._leading = False

    def write(self, run: Callable[[Session], Any]) -> Any:
        item = _Write(run)
        with self._lock:
            self._queue.append(item)
            follows = self._leading
            self._leading = True
        if follows:
            item.wake.wait()  # until its batch has committed, or the lead passes to it
        if not item.done:
            self._lead()
        if item.error is not None:
            raise item.error
        return item.answer

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            _commit(batch)
        except BaseException as exc:
            for item in batch:
                item.error = exc
        finally:
            with self._lock:
                successor = self._queue[0] if self._queue else None
                self._leading = successor is not None
            for item in batch:
                item.done = True
                item.wake.set()
            if successor is not None:
                successor.wake.set()


_group = _Group()


def _commit(batch: list[_Write]) -> None:
    # No write of the batch waits for SQLite's writer longer than it would have alone.
    with write_session(asked_at=batch[0].asked_at) as session:
        if len(batch) == 1:
            [item] = batch
            item.answer = _run_alone(session, item.run)
            return
        for item in batch:
            try:
                with session.begin_nested():
                    item.answer = item.run(session)
            except Undo as undo:
                item.answer = undo.answer
            except DBAPIError as exc:
                if isinstance(exc, OperationalError) or exc.connection_invalidated:
                    raise  # the transaction is gone: every write of the batch fails with it
                item.error = exc
            except Exception as exc:
                item.error = exc


def _run_alone(session: Session, write: Callable[[Session], Any]) -> Any:
    try:
        return write(session)
    except Undo as undo:
        session.rollback()
        return undo.answer
