"""The tokens each user's jobs spent, one row per user and UTC day.

A job's tokens are added in the transaction that moves it to a terminal status. That move is
guarded (a finished job is never moved again), so a job retried, re-sent or resumed is counted
once, whichever process ends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Executable, Row, bindparam, case, func, select
from sqlalchemy.orm import Session

from shared.core.db import read_connection, read_session, upsert_insert
from shared.core.models import Response, UsageDay

COUNTS = ("input_tokens", "output_tokens", "total_tokens", "jobs")


@dataclass(frozen=True)
class Tokens:
    input: int = 0
    output: int = 0
    total: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input + other.input, self.output + other.output, self.total + other.total
        )

    @classmethod
    def reported(cls, usage: dict[str, Any] | None) -> Tokens:
        """The tokens of an upstream `usage` object (or a job result's sum of them)."""
        usage = usage or {}
        return cls(
            int(usage.get("input_tokens") or 0),
            int(usage.get("output_tokens") or 0),
            int(usage.get("total_tokens") or 0),
        )


def record_finished_jobs(
    session: Session, jobs: Sequence[Row[Any]], result: dict[str, Any] | None, day: date
) -> list[tuple[Row[Any], Tokens]]:
    """Add what `jobs` (rows with `id` and `user_id`, just moved to a terminal status together
    with `result`) spent to their users' `day`; answer each job with its tokens.

    A job's tokens are its result's usage: the worker's sum over every response the job made,
    across attempts and tool rounds. A job that ends without one (failed, cancelled while it
    waited for tool outputs, failed by the reconciler) counts the responses it stored."""
    if not jobs:
        return []
    if result and result.get("usage"):
        spent = [(job, Tokens.reported(result["usage"])) for job in jobs]
    else:
        stored = _stored_tokens(session, [job.id for job in jobs])
        spent = [(job, stored.get(job.id, Tokens())) for job in jobs]
    by_user: dict[str, dict[str, Any]] = {}
    for job, tokens in spent:
        row = by_user.setdefault(
            job.user_id, {"user_id": job.user_id, "day": day, **dict.fromkeys(COUNTS, 0)}
        )
        row["input_tokens"] += tokens.input
        row["output_tokens"] += tokens.output
        row["total_tokens"] += tokens.total
        row["jobs"] += 1
    connection = session.connection()
    # Users in one order: two transactions adding to the same users' rows never deadlock.
    rows = [by_user[user_id] for user_id in sorted(by_user)]
    connection.execute(_add_to_day(connection.dialect.name), rows)
    return spent


def _stored_tokens(session: Session, job_ids: list[str]) -> dict[str, Tokens]:
    totals: dict[str, Tokens] = {}
    rows = session.execute(
        select(Response.job_id, Response.usage).where(Response.job_id.in_(job_ids))
    )
    for job_id, usage in rows:
        totals[job_id] = totals.get(job_id, Tokens()) + Tokens.reported(usage)
    return totals


@lru_cache(maxsize=2)
def _add_to_day(dialect: str) -> Executable:
    insert = upsert_insert(dialect, UsageDay).values(
        user_id=bindparam("user_id"),
        day=bindparam("day"),
        **{count: bindparam(count) for count in COUNTS},
    )
    return insert.on_conflict_do_update(
        index_elements=["user_id", "day"],
        set_={count: getattr(UsageDay, count) + insert.excluded[count] for count in COUNTS},
    )


@dataclass(frozen=True)
class Spent:
    """Total tokens spent today and this calendar month."""

    today: int
    month: int


# The budget check of every submit of a user with a budget: one range read of the primary key.
_SPENT = select(
    func.coalesce(
        func.sum(case((UsageDay.day == bindparam("today"), UsageDay.total_tokens), else_=0)), 0
    ),
    func.coalesce(func.sum(UsageDay.total_tokens), 0),
).where(UsageDay.user_id == bindparam("user_id"), UsageDay.day >= bindparam("month_start"))


def spent(user_id: str, today: date) -> Spent:
    with read_connection() as connection:
        day, month = connection.execute(
            _SPENT, {"user_id": user_id, "today": today, "month_start": today.replace(day=1)}
        ).one()
    return Spent(today=int(day), month=int(month))


def days_of(user_id: str, first: date, last: date) -> list[UsageDay]:
    """The user's days with finished jobs from `first` to `last`, oldest first."""
    with read_session() as session:
        return list(
            session.scalars(
                select(UsageDay)
                .where(UsageDay.user_id == user_id, UsageDay.day.between(first, last))
                .order_by(UsageDay.day)
            )
        )
