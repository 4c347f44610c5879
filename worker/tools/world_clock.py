"""get_time: the current local time in an IANA time zone."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from functools import lru_cache
from typing import Any

from shared.core.clock import utcnow
from worker.tools.results import ToolError

# Not strftime("%A"): that follows the process locale, and the model should always get English.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """Every zone this machine knows, by lower-case name, so 'europe/paris' finds Europe/Paris."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def get_time(timezone: str) -> dict[str, Any]:
    names = _zone_names()
    if not names:
        raise ToolError("this worker has no time zone database; ask its operator to install one")
    # Only names from the database reach ZoneInfo, so odd keys never touch the filesystem.
    name = names.get(timezone.strip().lower())
    if name is None:
        raise ToolError(
            f"unknown time zone {timezone!r}; use an IANA name like 'Europe/Paris', "
            "'America/New_York' or 'UTC'"
        )
    now = utcnow().astimezone(zoneinfo.ZoneInfo(name)).replace(microsecond=0)
    return {
        "timezone": name,
        "iso": now.isoformat(),
        "weekday": WEEKDAYS[now.weekday()],
        "utc_offset": _format_offset(now.utcoffset() or timedelta(0)),
    }


def _format_offset(offset: timedelta) -> str:
    minutes = round(offset.total_seconds() / 60)
    hours, minutes = divmod(abs(minutes), 60)
    return f"{'-' if offset < timedelta(0) else '+'}{hours:02d}:{minutes:02d}"
