"""Per-user token budgets per UTC day and calendar month: a user's own (`users set`) or the
settings' (USER_DAILY_TOKENS, USER_MONTHLY_TOKENS); unset is unlimited.

A submit from a user whose budget is spent is refused before anything is written. Jobs already
accepted run to their end and count, so a user may end a window somewhat past the budget.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from cachetools import TTLCache, cached
from sqlalchemy import select

from shared.accounts import usage
from shared.core.clock import utcnow
from shared.core.db import read_connection
from shared.core.errors import RateLimited
from shared.core.models import User
from shared.core.settings import get_settings

BUDGET_CACHE_SECONDS = 5.0
BUDGET_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Budget:
    """Tokens a user may spend per UTC day and per calendar month; None: unlimited."""

    daily: int | None
    monthly: int | None


@dataclass(frozen=True)
class Windows:
    """The UTC day and calendar month that contain a moment, and when each ends."""

    today: date
    day_ends: datetime
    month_ends: datetime

    @classmethod
    def at(cls, moment: datetime) -> Windows:
        today = moment.astimezone(UTC).date()
        first_of_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        return cls(
            today=today,
            day_ends=_midnight(today + timedelta(days=1)),
            month_ends=_midnight(first_of_next),
        )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def budget_of(user_id: str) -> Budget:
    """The user's own budget where set, the settings' otherwise."""
    settings = get_settings()
    with read_connection() as connection:
        row = connection.execute(
            select(User.daily_tokens, User.monthly_tokens).where(User.id == user_id)
        ).first()
    daily, monthly = row if row is not None else (None, None)
    return Budget(
        daily=settings.USER_DAILY_TOKENS if daily is None else daily,
        monthly=settings.USER_MONTHLY_TOKENS if monthly is None else monthly,
    )


# A submit reads the user's budget from here: one query per user every few seconds, and for a
# user without a budget (most) nothing more.
@cached(TTLCache(BUDGET_CACHE_SIZE, BUDGET_CACHE_SECONDS), lock=threading.Lock())
def cached_budget(user_id: str) -> Budget:
    return budget_of(user_id)


def check_budget(user_id: str) -> None:
    """Refuse a submit (429 budget_exceeded, Retry-After at the window's end) once the user has
    spent a budget: one indexed read of their usage when they have one."""
    budget = cached_budget(user_id)
    if budget.daily is None and budget.monthly is None:
        return
    now = utcnow()
    windows = Windows.at(now)
    spent = usage.spent(user_id, windows.today)
    over = []
    if budget.daily is not None and spent.today >= budget.daily:
        over.append((windows.day_ends, f"daily token budget ({budget.daily})"))
    if budget.monthly is not None and spent.month >= budget.monthly:
        over.append((windows.month_ends, f"monthly token budget ({budget.monthly})"))
    if not over:
        return
    # Spent both: wait for the later reset.
    resets, what = max(over)
    raise RateLimited(
        "budget_exceeded",
        f"The {what} is spent; it resets at {resets:%Y-%m-%d %H:%M} UTC.",
        max(1, math.ceil((resets - now).total_seconds())),
    )
