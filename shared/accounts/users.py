"""Operators' view of users: list them, set their in-flight limit, scheduling weight, the
models they may name and their token budgets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from shared.accounts.budgets import cached_budget
from shared.accounts.tokens import ensure_user
from shared.core.db import read_session, write_session
from shared.core.models import User
from shared.jobs.dispatch import dispatch_soon


def list_users() -> list[User]:
    with read_session() as session:
        return list(session.scalars(select(User).order_by(User.id)))


# The user's columns an operator sets; None puts one back to its setting's default.
LIMITS = frozenset({"max_inflight", "weight", "allowed_models", "daily_tokens", "monthly_tokens"})


def set_limits(user_id: str, changes: Mapping[str, Any]) -> User:
    """Write `changes` (a subset of LIMITS) to the user's row, making the user if missing."""
    if unknown := set(changes) - LIMITS:
        raise ValueError(f"not a user limit: {', '.join(sorted(unknown))}")
    with write_session() as session:
        ensure_user(session, user_id)
        user = session.get_one(User, user_id)
        for name, value in changes.items():
            setattr(user, name, value)
    # This process applies a new budget at once; the API's processes within BUDGET_CACHE_SECONDS.
    cached_budget.cache_clear()
    dispatch_soon()  # a higher limit may free jobs that were held back
    return user
