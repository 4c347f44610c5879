"""Fair scheduling under a backlog: user A submits 5,000 jobs at once, then users B, C and D each
submit one job a second for 30 s, the upstream taking 200 ms a call. The same run under fair
scheduling and under plain FIFO, side by side.

    python -m bench.fairness [--backlog 5000] [--seconds 30] [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.common import (
    JobTiming,
    add_database_option,
    databases,
    exit_cleanly_on_sigterm,
    job_timings,
    ms,
    percentile,
    print_table,
)
from shared.core.settings import Settings
from tests.harness import Stack

SMALL_USERS = ("user-b", "user-c", "user-d")
TERMINAL = {"completed", "failed", "cancelled", "incomplete"}


def run(
    database: str, policy: str, backlog: int, seconds: int, user_max_inflight: int
) -> list[JobTiming]:
    stack = Stack(
        database=database,
        worker_concurrency=64,
        settings={
            "SCHEDULING": policy,
            "OFFLINE_OPENAI_LATENCY_MS": "200",
            "RATE_LIMIT": "1000000/minute",
            "USER_MAX_INFLIGHT": str(user_max_inflight),
        },
    ).start()
    try:
        with stack.client() as api:
            burst = threading.Thread(target=_backlog, args=(api, backlog))
            burst.start()
            time.sleep(0.5)
            for _ in range(seconds):
                tick = time.monotonic()
                for user in SMALL_USERS:
                    api.post("/v1/chat", json={"message": "small", "user_id": user})
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
            burst.join()
            _drain(api, ["user-a", *SMALL_USERS])
        return job_timings(stack.database_url)
    finally:
        stack.stop()


def _backlog(api: httpx.Client, count: int) -> None:
    def one(index: int) -> None:
        api.post("/v1/chat", json={"message": f"backlog {index}", "user_id": "user-a"})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))


def _drain(api: httpx.Client, users: list[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    for user in users:
        while time.monotonic() < deadline:
            waiting = api.get("/v1/jobs", params={"user_id": user, "status": "queued", "limit": 1})
            running = api.get(
                "/v1/jobs", params={"user_id": user, "status": "in_progress", "limit": 1}
            )
            if not waiting.json()["data"] and not running.json()["data"]:
                break
            time.sleep(0.5)


def rows_for(database: str, policy: str, timings: list[JobTiming]) -> list[list[str]]:
    start = min(t.created_at for t in timings)
    end = max(t.finished_at for t in timings if t.finished_at)
    total = (end - start).total_seconds()
    a_jobs = [t for t in timings if t.user_id == "user-a"]
    a_end = max(t.finished_at for t in a_jobs if t.finished_at)
    a_makespan = (a_end - min(t.created_at for t in a_jobs)).total_seconds()
    rows = []
    for user in ("user-a", *SMALL_USERS):
        waits = [t.queue_wait for t in timings if t.user_id == user and t.queue_wait is not None]
        rows.append(
            [
                database,
                policy,
                user,
                str(len(waits)),
                ms(percentile(waits, 0.5)),
                ms(percentile(waits, 0.99)),
                f"{a_makespan:.1f} s",
                f"{len(timings) / total:.0f} jobs/s",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument(
        "--user-max-inflight", type=int, default=Settings.model_fields["USER_MAX_INFLIGHT"].default
    )
    add_database_option(parser)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    rows = []
    for database in databases(args.database):
        for policy in ("fair", "fifo"):
            timings = run(database, policy, args.backlog, args.seconds, args.user_max_inflight)
            rows += rows_for(database, policy, timings)
    print_table(
        f"Fairness: A submits {args.backlog} at once; B, C, D one a second for {args.seconds} s "
        f"(upstream 200 ms, one worker, 64 threads, USER_MAX_INFLIGHT={args.user_max_inflight})",
        [
            "database",
            "scheduling",
            "user",
            "jobs",
            "wait p50",
            "wait p99",
            "A makespan",
            "throughput",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
