"""The dispatcher: sends ready jobs to the broker, in turn across users, never too many at once.

The database says which jobs may run (`queue_state = ready`: first in their conversation); the
dispatcher picks among them round-robin by user (a user of weight w gets w per lap), up to each
user's in-flight limit, and keeps at most BROKER_MAX_PENDING messages waiting on the broker. Only
one dispatcher runs at a time (a Redis lock); whoever can't take the lock leaves a flag, and the
holder runs again before letting go. A crash between marking jobs sent and sending them leaves
jobs `sent` with no message: the reconciler sends those again. When nothing else is
ready, a submit marks its own job sent in its transaction (what a pass would pick) and sends it,
so an idle gateway starts a job without a pass.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import RowMapping, bindparam, exists, func, select, update
from sqlalchemy.orm import Session

from shared.core import task_names
from shared.core.celery_app import celery_app
from shared.core.clock import utcnow
from shared.core.db import read_connection, write_session
from shared.core.errors import DatabaseUnavailable
from shared.core.models import Job, User
from shared.core.redis_client import get_redis
from shared.core.settings import get_settings
from shared.jobs import states

log = logging.getLogger(__name__)

LOCK_KEY = "gw:dispatch:lock"
PENDING_KEY = "gw:dispatch:pending"
CURSOR_KEY = "gw:dispatch:cursor"

# The dispatcher's reads, built once (statements are parameterised by user and job id); each
# column is an indexed count or probe, so one round trip answers what a decision needs.
_PENDING = (
    select(func.count())
    .select_from(Job)
    .where(Job.queue_state == states.SENT)
    .scalar_subquery()
    .label("pending")
)
_READY = exists().where(Job.queue_state == states.READY).label("ready")
_USER_TURN = (
    select(User.weight).where(User.id == bindparam("user_id")).scalar_subquery().label("weight"),
    select(User.max_inflight)
    .where(User.id == bindparam("user_id"))
    .scalar_subquery()
    .label("max_inflight"),
    select(func.count())
    .select_from(Job)
    .where(
        Job.user_id == bindparam("user_id"),
        Job.status == states.IN_PROGRESS,
        # Held by a worker: a job resumed with tool outputs is in progress but waits its turn.
        Job.queue_state.is_(None),
    )
    .scalar_subquery()
    .label("running"),
    select(func.count())
    .select_from(Job)
    .where(Job.queue_state == states.SENT, Job.user_id == bindparam("user_id"))
    .scalar_subquery()
    .label("waiting"),
)
_PASS_FACTS = select(_PENDING, _READY)
_PLACEMENT_FACTS = select(_PENDING, _READY, *_USER_TURN)
_TURN_FACTS = select(*_USER_TURN)


class _BackgroundPasses:
    """One thread of this process runs the passes callers ask for; asks that arrive during a
    pass are served by one more pass, so a burst of finished jobs costs a pass, not a burst."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._guard = threading.Lock()
        self._pid: int | None = None

    def request(self) -> None:
        with self._guard:
            if self._pid != os.getpid():  # none yet, or inherited through a fork
                self._pid = os.getpid()
                threading.Thread(target=self._serve, name="dispatcher", daemon=True).start()
        self._wake.set()

    def _serve(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                dispatch_here()
            except Exception:
                log.exception("dispatch pass failed; the reconciler will dispatch later")


_background: _BackgroundPasses | None = None


def dispatch_in_background() -> None:
    """From now on this process's dispatch_soon() hands passes to one background thread."""
    global _background
    _background = _background or _BackgroundPasses()


def dispatch_soon() -> None:
    """Ask for a dispatch pass: on this process's dispatcher thread when it has one, else here."""
    if _background is not None:
        _background.request()
    else:
        dispatch_here()


def dispatch_here() -> None:
    """Dispatch now on this thread, unless another process is dispatching right now."""
    try:
        if not _worth_a_pass():
            return
        redis = get_redis()
        redis.set(PENDING_KEY, 1)
        lock = redis.lock(LOCK_KEY, timeout=30)
        checked = True  # the check above stands for the first pass; a later one checks again
        while lock.acquire(blocking=False):
            try:
                while redis.delete(PENDING_KEY):
                    if checked or _worth_a_pass():
                        _send_ready()
                    checked = False
            finally:
                lock.release()
            # A request that came while we held the lock left the flag; serve it.
            if not redis.exists(PENDING_KEY):
                break
    except (RedisError, DatabaseUnavailable) as exc:
        # Never fail the caller: the job is stored, and the reconciler dispatches it later.
        log.warning("dispatch deferred to the reconciler: %s", exc)


def dispatch_now() -> int:
    """One pass: mark as many ready jobs `sent` as the broker may hold, then send them."""
    return _send_ready() if _worth_a_pass() else 0


def _send_ready() -> int:
    settings = get_settings()
    with write_session() as session:
        free = _free_broker_slots(session)
        if free <= 0:
            return 0
        if settings.SCHEDULING == "fifo":
            picked = _pick_oldest(session, free)
        else:
            picked = _pick_round_robin(session, free)
        if not picked:
            return 0
        sent_ids = list(
            session.scalars(
                update(Job)
                .where(Job.id.in_(picked), Job.queue_state == states.READY)
                .values(queue_state=states.SENT, dispatched_at=utcnow())
                .returning(Job.id)
            )
        )
    order = {job_id: index for index, job_id in enumerate(picked)}
    for job_id in sorted(sent_ids, key=order.__getitem__):
        send_job(job_id)
    return len(sent_ids)


class Placement(enum.Enum):
    """Where a newly stored job goes next."""

    SENT = "sent"  # marked sent in its own transaction: the caller sends it after the commit
    PASS = "pass"  # others are ready too: a pass picks among them in turn
    HELD = "held"  # blocked in its conversation, broker full or its user at the limit


def place_new_job(session: Session, user_id: str) -> Placement:
    """In the transaction that stores a ready job, before its insert: SENT (the job goes in
    marked sent) when a pass would pick it anyway (no other job is ready, the broker has room,
    its user is under the in-flight limit), so an idle gateway starts a job without a pass. A
    job held back by a full broker or its user's limit needs no pass now: the end of one of the
    jobs holding it back asks for one (and beat's reconcile tick would find it if those all
    ended in the moment before this commit)."""
    facts = session.connection().execute(_PLACEMENT_FACTS, {"user_id": user_id}).mappings().one()
    if _free_slots(facts["pending"]) <= 0 or _turn(user_id, facts).allowance <= 0:
        return Placement.HELD
    if facts["ready"]:
        return Placement.PASS
    return Placement.SENT


def _worth_a_pass() -> bool:
    """Whether a pass could send anything: the broker has room and a job is ready. Checked
    without a lock: a full broker (the common case under load) or nothing ready (an idle
    gateway) costs one read, and a job that becomes ready later asks for its own pass."""
    with read_connection() as connection:
        facts = connection.execute(_PASS_FACTS).mappings().one()
    return _free_slots(facts["pending"]) > 0 and bool(facts["ready"])


def _free_broker_slots(session: Session) -> int:
    return _free_slots(session.scalar(select(_PENDING)))


def _free_slots(pending: int | None) -> int:
    return get_settings().BROKER_MAX_PENDING - (pending or 0)


def send_job(job_id: str) -> None:
    try:
        celery_app.send_task(task_names.RUN_JOB, args=[job_id], queue=task_names.JOBS_QUEUE)
    except Exception as exc:  # kombu raises many kinds; the reconciler will send it again
        log.warning("could not send job %s to the broker: %s", job_id, exc)


def _pick_oldest(session: Session, free: int) -> list[str]:
    """Plain arrival order, no per-user limit: what a bare Celery queue would do."""
    return list(
        session.scalars(
            select(Job.id).where(Job.queue_state == states.READY).order_by(Job.id).limit(free)
        )
    )


@dataclass
class _Turn:
    user_id: str
    weight: int
    allowance: int
    last_job_id: str = ""
    exhausted: bool = False


def _pick_round_robin(session: Session, free: int) -> list[str]:
    redis = get_redis()
    cursor = redis.get(CURSOR_KEY) or ""
    turns: list[_Turn] = []
    seen: set[str] = set()
    picked: list[str] = []
    wrapped = False
    # First lap: visit users after the cursor, giving each up to its weight.
    while len(picked) < free:
        user_id = session.scalar(
            select(Job.user_id)
            .where(Job.queue_state == states.READY, Job.user_id > cursor)
            .order_by(Job.user_id)
            .limit(1)
        )
        if user_id is None:
            if wrapped or cursor == "":
                break
            wrapped, cursor = True, ""
            continue
        if user_id in seen:
            break
        seen.add(user_id)
        cursor = user_id
        turn = _turn_for(session, user_id)
        turns.append(turn)
        picked += _take(session, turn, min(turn.weight, free - len(picked)))
    # Further laps: share what is left among users that still have ready jobs, by weight.
    while len(picked) < free:
        open_turns = [t for t in turns if not t.exhausted and t.allowance > 0]
        if not open_turns:
            break
        for turn in open_turns:
            share = max(1, (free - len(picked)) * turn.weight // sum(t.weight for t in open_turns))
            picked += _take(session, turn, min(share, free - len(picked)))
            if len(picked) >= free:
                break
    redis.set(CURSOR_KEY, cursor)
    return picked


def _turn_for(session: Session, user_id: str) -> _Turn:
    return _turn(user_id, session.execute(_TURN_FACTS, {"user_id": user_id}).mappings().one())


def _turn(user_id: str, facts: RowMapping) -> _Turn:
    """A user's turn from its weight, limit and jobs running or waiting on the broker."""
    limit = facts["max_inflight"] or get_settings().USER_MAX_INFLIGHT
    return _Turn(user_id, facts["weight"] or 1, limit - facts["running"] - facts["waiting"])


def _take(session: Session, turn: _Turn, count: int) -> list[str]:
    count = min(count, turn.allowance)
    if count <= 0:
        return []
    ids = list(
        session.scalars(
            select(Job.id)
            .where(
                Job.queue_state == states.READY,
                Job.user_id == turn.user_id,
                Job.id > turn.last_job_id,
            )
            .order_by(Job.id)
            .limit(count)
        )
    )
    turn.allowance -= len(ids)
    turn.exhausted = len(ids) < count
    if ids:
        turn.last_job_id = ids[-1]
    return ids
