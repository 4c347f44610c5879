"""A user's usage for a range of UTC days, against their budget: GET /v1/usage and
`flask --app api users usage`."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.accounts import usage
from shared.accounts.budgets import Windows, budget_of
from shared.core.clock import utcnow
from shared.core.errors import InvalidInput
from shared.views import budget_window, usage_body

MAX_DAYS = 366


def usage_report(
    user_id: str, first: date | None = None, last: date | None = None
) -> dict[str, Any]:
    """Per-day tokens and jobs from `first` (default: the first of `last`'s month) to `last`
    (default: today), and what is left of today's and this month's budget."""
    windows = Windows.at(utcnow())
    last = last or windows.today
    first = first or last.replace(day=1)
    if first > last:
        raise InvalidInput("invalid_date_range", "from must be on or before to.", "from")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(
            "invalid_date_range", f"from and to may span at most {MAX_DAYS} days.", "from"
        )
    budget = budget_of(user_id)
    spent = usage.spent(user_id, windows.today)
    return usage_body(
        user_id,
        first,
        last,
        usage.days_of(user_id, first, last),
        today=budget_window(spent.today, budget.daily, windows.day_ends),
        this_month=budget_window(spent.month, budget.monthly, windows.month_ends),
    )
