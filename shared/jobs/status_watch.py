"""What `?wait` waits on: one Redis subscription a process, not a blocked connection a wait.

Every status event is also published on one channel (`events.publish`). A process's waits each
register a `Notice` for their job; one listener thread, subscribed to the channel, tells each
notice the status its job moved to. A wait registers before it reads the job's status, so a
change committed after that read reaches it.

While the listener is not subscribed (the process's first wait, or Redis away) `listening()` is
False and waits poll the database instead. Whenever the listener subscribes or loses Redis it
tells every notice `None`: read the database, since notices may have gone unheard meanwhile.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisError

from shared.core import redis_client
from shared.core.settings import get_settings

log = logging.getLogger(__name__)

STATUS_CHANNEL = "gw:job-status"
READ_TIMEOUT_SECONDS = 5.0
RECONNECT_SECONDS = 1.0


def status_notice(job_id: str, status: str | None) -> str:
    """The channel's message for a job that moved to `status`."""
    return json.dumps({"job_id": job_id, "status": status})


class Notice:
    """What a wait is told about its job: the statuses it moved to, or None (read the database)."""

    def __init__(self) -> None:
        self._told: list[str | None] = []
        self._changed = threading.Condition(threading.Lock())

    def tell(self, status: str | None) -> None:
        with self._changed:
            self._told.append(status)
            self._changed.notify()

    def next(self, timeout: float) -> tuple[bool, str | None]:
        """(False, None) if nothing is told within `timeout`; else (True, the latest status told,
        or None if any telling said to read the database)."""
        with self._changed:
            if not self._told:
                self._changed.wait(timeout)
            if not self._told:
                return False, None
            told, self._told = self._told, []
        return True, (None if None in told else told[-1])


class StatusWatch:
    def __init__(self) -> None:
        self._notices: dict[str, list[Notice]] = {}
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._listening = False

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

    def _tell(self, job_id: str, status: str | None) -> None:
        with self._lock:
            notices = list(self._notices.get(job_id, ()))
        for notice in notices:
            notice.tell(status)

    def _tell_everyone_to_read(self, listening: bool) -> None:
        with self._lock:
            self._listening = listening
            notices = [notice for waiting in self._notices.values() for notice in waiting]
        for notice in notices:
            notice.tell(None)

    def _listen(self) -> None:
        while True:
            try:
                self._follow_the_channel()
            except RedisError as exc:
                log.warning("job status watch lost redis (%s); waits poll the database", exc)
            finally:
                self._tell_everyone_to_read(listening=False)
            threading.Event().wait(RECONNECT_SECONDS)

    def _follow_the_channel(self) -> None:
        redis = redis_client.redis_for(get_settings().REDIS_URL, 2 * READ_TIMEOUT_SECONDS)
        with redis.pubsub() as pubsub:  # type: ignore[no-untyped-call]
            pubsub.subscribe(STATUS_CHANNEL)
            while True:
                message = pubsub.get_message(timeout=READ_TIMEOUT_SECONDS)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    self._tell_everyone_to_read(listening=True)
                elif message["type"] == "message":
                    said = json.loads(message["data"])
                    self._tell(said["job_id"], said["status"])


watch = StatusWatch()
