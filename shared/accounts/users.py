"""Operators' view of users: list them, set their in-flight limit, scheduling weight, the
models they may name and their token budgets."""

from __future__ import annotations

from sqlalchemy import select

from shared.accounts.budgets import cached_budget
from shared.accounts.tokens import ensure_user
from shared.core.db import read_session, write_session
from shared.core.models import User
from shared.jobs.dispatch import dispatch_soon


def list_users() -> list[User]:
    with read_session() as session:
        return list(session.scalars(select(User).order_by(User.id)))


def set_limits(
    user_id: str,
    *,
    max_inflight: int | None = None,
    reset_max_inflight: bool = False,
    weight: int | None = None,
    models: list[str] | None = None,
    reset_models: bool = False,
    daily_tokens: int | None = None,
    reset_daily_tokens: bool = False,
    monthly_tokens: int | None = None,
    reset_monthly_tokens: bool = False,
) -> User:
    with write_session() as session:
        ensure_user(session, user_id)
        user = session.get_one(User, user_id)
        if reset_max_inflight:
            user.max_inflight = None
        elif max_inflight is not None:
            user.max_inflight = max_inflight
        if weight is not None:
            user.weight = weight
        if reset_models:
            user.allowed_models = None
        elif models is not None:
            user.allowed_models = models
        if reset_daily_tokens:
            user.daily_tokens = None
        elif daily_tokens is not None:
            user.daily_tokens = daily_tokens
        if reset_monthly_tokens:
            user.monthly_tokens = None
        elif monthly_tokens is not None:
            user.monthly_tokens = monthly_tokens
    # This process applies a new budget at once; the API's processes within BUDGET_CACHE_SECONDS.
    cached_budget.cache_clear()
    dispatch_soon()  # a higher limit may free jobs that were held back
    return user
