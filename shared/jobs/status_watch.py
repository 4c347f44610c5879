"""What `?wait` waits on: one Redis subscription a process, not a blocked connection a wait.

The id of every job whose status changes is published on one channel (`events.publish`, after
the change commits). A process's waits each register a `Notice` for their job; one listener
thread, subscribed to the channel, wakes the notices of each job named, and the wait reads the
job's status. A wait registers before its first read, so a change committed after that read
wakes it.

While the listener is not subscribed (the process's first wait, or Redis away) `listening()` is
False and waits poll the database instead. Whenever the listener subscribes or loses Redis it
wakes every notice, since a change may have gone unheard meanwhile. A subscription that stops
answering (a connection dropped without being closed) is noticed by a ping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from shared.core import redis_client
from shared.core.settings import get_settings

log = logging.getLogger(__name__)

STATUS_CHANNEL = "gw:job-status"
READ_TIMEOUT_SECONDS = 5.0
RECONNECT_SECONDS = 1.0


class Notice:
    """A wait's doorbell: rung when its job's status may have changed."""

    def __init__(self) -> None:
        self._rung = threading.Event()

    def ring(self) -> None:
        self._rung.set()

    def wait(self, timeout: float) -> bool:
        """Whether it rang within `timeout`; the caller reads the job after either answer."""
        rung = self._rung.wait(timeout)
        # A ring between the wait and this clear was for a change committed before it, which the
        # caller's read, after it, sees.
        self._rung.clear()
        return rung


class StatusWatch:
    def __init__(self) -> None:
        self._notices: dict[str, list[Notice]] = {}
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._listening = False
        self._stopped = threading.Event()

    def listening(self) -> bool:
        return self._listening

    @contextmanager
    def watching(self, job_id: str) -> Iterator[Notice]:
        notice = Notice()
        with self._lock:
            self._notices.setdefault(job_id, []).append(notice)
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(
                    target=self._listen, name="status-watch", daemon=True
                )
                self._listener.start()
        try:
            yield notice
        finally:
            with self._lock:
                notices = self._notices[job_id]
                notices.remove(notice)
                if not notices:
                    del self._notices[job_id]

    def stop(self) -> None:
        """End the listener within a read's timeout (the process's own end does as well)."""
        self._stopped.set()

    def _ring(self, job_id: str) -> None:
        with self._lock:
            notices = list(self._notices.get(job_id, ()))
        for notice in notices:
            notice.ring()

    def _ring_everyone(self, listening: bool) -> None:
        with self._lock:
            self._listening = listening
            notices = [notice for waiting in self._notices.values() for notice in waiting]
        for notice in notices:
            notice.ring()

    def _listen(self) -> None:
        while not self._stopped.is_set():
            try:
                self._follow_the_channel()
            except RedisError as exc:
                log.warning("job status watch lost redis (%s); waits poll the database", exc)
            except Exception:
                log.exception("job status watch failed; waits poll the database")
            finally:
                self._ring_everyone(listening=False)
            self._stopped.wait(RECONNECT_SECONDS)

    def _follow_the_channel(self) -> None:
        redis = redis_client.redis_for(get_settings().REDIS_URL, 2 * READ_TIMEOUT_SECONDS)
        with redis.pubsub() as pubsub:  # type: ignore[no-untyped-call]
            pubsub.subscribe(STATUS_CHANNEL)
            pinged = False
            while not self._stopped.is_set():
                message = pubsub.get_message(timeout=READ_TIMEOUT_SECONDS)
                if message is None:
                    if pinged:
                        raise RedisConnectionError("no answer to a ping on the status channel")
                    pubsub.ping()
                    pinged = True
                    continue
                pinged = False
                if message["type"] == "subscribe":
                    self._ring_everyone(listening=True)
                elif message["type"] == "message":
                    self._ring(str(message["data"]))


watch = StatusWatch()
