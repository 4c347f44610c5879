"""The job state machine: which status may follow which, in one table (`transitions` applies it)."""

from __future__ import annotations

QUEUED = "queued"
IN_PROGRESS = "in_progress"
REQUIRES_ACTION = "requires_action"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
INCOMPLETE = "incomplete"

# The error of a job its caller cancelled.
CANCELLED_ERROR = {"code": "cancelled", "message": "Cancelled by the caller."}

TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED, INCOMPLETE})
ACTIVE = frozenset({QUEUED, IN_PROGRESS, REQUIRES_ACTION})
ALL = ACTIVE | TERMINAL

TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({IN_PROGRESS, CANCELLED, FAILED}),
    IN_PROGRESS: frozenset({REQUIRES_ACTION, COMPLETED, FAILED, CANCELLED, INCOMPLETE}),
    REQUIRES_ACTION: frozenset({IN_PROGRESS, CANCELLED, FAILED}),
    COMPLETED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
    INCOMPLETE: frozenset(),
}

# Where a job that no worker holds stands with the dispatcher (None: a worker holds it, it waits
# for tool outputs, or it is finished).
BLOCKED = "blocked"  # an earlier job of its conversation has not finished
READY = "ready"  # may be sent to a worker
SENT = "sent"  # a message for it is on the broker


def sources_of(new: str) -> tuple[str, ...]:
    """Every status a job may be in just before `new`: the guard of a conditional UPDATE."""
    return tuple(sorted(status for status, targets in TRANSITIONS.items() if new in targets))
