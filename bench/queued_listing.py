"""Reading a deep queue: one user with 100,000 queued jobs; how fast are `GET /v1/jobs?status=
queued` (with each job's queue_position), one queued job, and a submit by another user (whose
dispatch pass walks past that backlog)?

    python -m bench.queued_listing [--jobs 100000] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, insert

from bench.common import ms, percentile, print_table
from shared.core.ids import new_id
from shared.core.models import Job, User
from tests.harness import Stack

REQUESTS = 200


def fill(database_url: str, count: int) -> list[str]:
    engine = create_engine(database_url)
    start = datetime.now(UTC) - timedelta(minutes=5)
    ids = []
    with engine.begin() as connection:
        connection.execute(
            insert(User), [{"id": "bulk", "name": "bulk", "weight": 1, "created_at": start}]
        )
        for offset in range(0, count, 10_000):
            rows = []
            for index in range(offset, min(count, offset + 10_000)):
                job_id = new_id("job")
                ids.append(job_id)
                rows.append(
                    {
                        "id": job_id,
                        "user_id": "bulk",
                        "kind": "response",
                        "status": "queued",
                        "queue_state": "ready",
                        "request": {"input": f"job {index}"},
                        "attempts": 0,
                        "cancel_requested": False,
                        "created_at": start + timedelta(microseconds=index),
                    }
                )
            connection.execute(insert(Job), rows)
    engine.dispose()
    return ids


def timed(call: object, times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    if args.database == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        raise SystemExit("set TEST_DATABASE_URL to a PostgreSQL database")
    stack = Stack(database=args.database, settings={"RATE_LIMIT": "1000000/minute"}).start()
    try:
        stack.processes["worker"].stop()
        stack.processes["beat"].stop()
        ids = fill(stack.database_url, args.jobs)
        middle = ids[len(ids) // 2]
        rows = []
        with stack.client() as api:
            page = api.get("/v1/jobs", params={"user_id": "bulk", "status": "queued"}).json()
            assert page["data"][0]["queue_position"] == args.jobs, page["data"][0]
            for label, call in [
                (
                    "GET /v1/jobs?status=queued (20 a page)",
                    lambda: api.get("/v1/jobs", params={"user_id": "bulk", "status": "queued"}),
                ),
                (
                    "GET /v1/jobs/{id} (queue_position ~ half way)",
                    lambda: api.get(f"/v1/jobs/{middle}", params={"user_id": "bulk"}),
                ),
                (
                    "POST /v1/chat by another user (dispatch pass)",
                    lambda: api.post("/v1/chat", json={"message": "hi", "user_id": "other"}),
                ),
            ]:
                samples = timed(call, REQUESTS)
                rows.append(
                    [
                        args.database,
                        label,
                        ms(percentile(samples, 0.5)),
                        ms(percentile(samples, 0.99)),
                    ]
                )
    finally:
        stack.stop()
    print_table(
        f"A deep queue: {args.jobs} queued jobs of one user",
        ["database", "request", "p50", "p99"],
        rows,
    )


if __name__ == "__main__":
    main()
