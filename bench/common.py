"""What the benchmarks share: percentiles, a table printer, and job timings read from the DB."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from shared.models import Job


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of `values`; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def print_table(title: str, headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    print(f"\n{title}")
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


@dataclass(frozen=True)
class JobTiming:
    user_id: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status: str

    @property
    def queue_wait(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.started_at - self.created_at).total_seconds()


def job_timings(database_url: str) -> list[JobTiming]:
    engine = create_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(
            select(Job.user_id, Job.created_at, Job.started_at, Job.finished_at, Job.status)
        ).all()
    engine.dispose()
    return [JobTiming(*row) for row in rows]


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"
