"""Fault scenarios: each breaks something on purpose while jobs run, then counts what happened.

`make faults` runs them at full size on a real stack and prints one table; the integration
tests run short versions of the same functions and assert on their reports.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import redis
from sqlalchemy import create_engine, text

from tests.harness import Stack

FAULT_SETTINGS = {
    "OPENAI_TIMEOUT_SECONDS": "2",
    "OPENAI_MAX_RETRIES": "2",
    "JOB_LEASE_SECONDS": "4",
    "RECONCILE_SECONDS": "1",
    "RESEND_AFTER_SECONDS": "4",
    "RATE_LIMIT": "100000/minute",
}
TERMINAL = {"completed", "failed", "cancelled", "incomplete"}
USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


@dataclass
class FaultReport:
    scenario: str
    accepted: int = 0
    refused: int = 0
    terminal: int = 0
    completed: int = 0
    lost: int = 0
    duplicate_results: int = 0
    duplicate_generations: int = 0
    # Jobs running with no upstream response id recorded yet when a worker was killed: the only
    # ones whose create may have reached the upstream without a trace to resume (each may be
    # generated twice, never stored twice).
    exposed: int = 0
    slowest_recovery: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    # How the user's counted usage (GET /v1/usage) differs from the sum over its finished jobs'
    # results; empty when they agree.
    usage_error: str = ""

    def row(self) -> list[str]:
        codes = ", ".join(f"{code} x{n}" for code, n in sorted(self.failures.items())) or "-"
        return [
            self.scenario,
            str(self.accepted),
            str(self.terminal),
            str(self.lost),
            str(self.duplicate_results),
            str(self.duplicate_generations),
            f"{self.slowest_recovery:.1f} s",
            self.usage_error or "ok",
            codes,
        ]


HEADERS = [
    "scenario",
    "accepted",
    "terminal",
    "lost",
    "dup results",
    "dup generations",
    "slowest recovery",
    "usage",
    "failures",
]


def print_table(reports: list[FaultReport]) -> None:
    rows = [HEADERS] + [report.row() for report in reports]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    for index, row in enumerate(rows):
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("-+-".join("-" * width for width in widths))


class Load:
    """Submits chats for one user and remembers what was accepted and what was refused."""

    def __init__(self, stack: Stack, prefix: str) -> None:
        self.stack = stack
        self.user = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.accepted: list[str] = []
        self.refusals: list[tuple[int, float, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def submit(self, count: int, threads: int = 16, spread: float = 0.0) -> None:
        """Submit `count` chats, their start times spread evenly over `spread` seconds."""
        begin = time.monotonic()
        with self.stack.client() as api:

            def one(index: int) -> None:
                time.sleep(max(0.0, begin + spread * index / count - time.monotonic()))
                started = time.monotonic()
                try:
                    response = api.post(
                        "/v1/chat",
                        json={"message": f"job {index}", "user_id": self.user},
                        timeout=10,
                    )
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.refusals.append((0, time.monotonic() - started, {"error": str(exc)}))
                    return
                with self._lock:
                    if response.status_code == 202:
                        self.accepted.append(response.json()["id"])
                    else:
                        self.refusals.append(
                            (response.status_code, time.monotonic() - started, response.json())
                        )

            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(one, range(count)))

    def settle(self, timeout: float) -> dict[str, dict[str, Any]]:
        """Wait until every accepted job is terminal (or time runs out); answer them all."""
        deadline = time.monotonic() + timeout
        finals: dict[str, dict[str, Any]] = {}
        with self.stack.client() as api:
            while time.monotonic() < deadline:
                finals = self._all_jobs(api)
                if all(finals.get(j, {}).get("status") in TERMINAL for j in self.accepted):
                    break
                time.sleep(0.5)
        return finals

    def _all_jobs(self, api: httpx.Client) -> dict[str, dict[str, Any]]:
        jobs: dict[str, dict[str, Any]] = {}
        after = None
        while True:
            params: dict[str, Any] = {"user_id": self.user, "limit": 100}
            if after:
                params["after"] = after
            page = api.get("/v1/jobs", params=params).json()
            jobs.update({job["id"]: job for job in page["data"]})
            if not page["has_more"]:
                return jobs
            after = page["last_id"]

    def audit(self, scenario: str, finals: dict[str, dict[str, Any]], since: float) -> FaultReport:
        report = FaultReport(scenario, accepted=len(self.accepted), refused=len(self.refusals))
        done = [finals[j] for j in self.accepted if finals.get(j, {}).get("status") in TERMINAL]
        report.terminal = len(done)
        report.lost = report.accepted - report.terminal
        report.completed = sum(1 for job in done if job["status"] == "completed")
        report.failures = Counter(
            job["error"]["code"] for job in done if job["status"] != "completed"
        )
        by_job = self.stack.upstream().get("/_offline/stats").json()["responses_created_by_job"]
        report.duplicate_generations = sum(1 for j in self.accepted if by_job.get(j, 0) > 1)
        with self.stack.client() as api:
            for job in done:
                rows = api.get(
                    f"/v1/conversations/{job['conversation_id']}/responses",
                    params={"user_id": self.user, "limit": 100},
                ).json()["data"]
                if sum(1 for row in rows if row["job_id"] == job["id"]) > 1:
                    report.duplicate_results += 1
        finished = [job["finished_at"] for job in done if job["finished_at"]]
        report.slowest_recovery = max(0.0, max(finished, default=since) - since)
        report.usage_error = self.usage_error(done)
        return report

    def usage_error(self, done: list[dict[str, Any]]) -> str:
        """Whether the user's usage counted each finished job once: its tokens are the sum of
        the jobs' results' usage, its job count the number of finished jobs."""
        expected = Counter[str](jobs=len(done))
        for job in done:
            usage = (job["result"] or {}).get("usage") or {}
            expected.update({key: usage.get(key, 0) for key in USAGE_KEYS})
        today = datetime.now(UTC).date()
        with self.stack.client() as api:
            total = api.get(
                "/v1/usage",
                params={
                    "user_id": self.user,
                    "from": (today - timedelta(days=1)).isoformat(),
                    "to": today.isoformat(),
                },
            ).json()["total"]
        return ", ".join(
            f"{key} counted {total[key]}, results say {expected[key]}"
            for key in [*USAGE_KEYS, "jobs"]
            if total[key] != expected[key]
        )


def _configure(stack: Stack, **config: Any) -> None:
    with stack.upstream() as upstream:
        upstream.put("/_offline/config", json=config).raise_for_status()


def _reset_upstream(stack: Stack) -> None:
    _configure(
        stack,
        latency_ms=0,
        faults={"429": 0, "500": 0, "drop": 0},
        hang=False,
        api_key=None,
        retry_after_ms=1000,
    )


def worker_killed(stack: Stack, jobs: int = 300, kills: int = 3) -> FaultReport:
    """SIGKILL the worker mid-run `kills` times (restarting it each time)."""
    _configure(stack, latency_ms=300)
    load = Load(stack, "sigkill")
    load.submit(jobs)
    last = time.time()
    exposed = 0
    for _ in range(kills):
        time.sleep(2.0)
        stack.processes["worker"].kill()
        last = time.time()
        exposed += running_without_response_id(stack.database_url)
        stack.start_worker()
    _configure(stack, latency_ms=0)
    finals = load.settle(timeout=60 + jobs * 0.2)
    report = load.audit(f"worker SIGKILL x{kills}", finals, last)
    report.exposed = exposed
    return report


def running_without_response_id(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text(
                        "SELECT count(*) FROM jobs"
                        " WHERE status = 'in_progress' AND upstream_response_id IS NULL"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def worker_terminated(stack: Stack, jobs: int = 60) -> FaultReport:
    """SIGTERM the worker mid-run: it finishes or returns its jobs; a new one takes the rest."""
    _configure(stack, latency_ms=800)
    load = Load(stack, "sigterm")
    load.submit(jobs)
    time.sleep(1.5)
    worker = stack.processes["worker"]
    worker.signal(signal.SIGTERM)
    assert worker.popen is not None
    worker.popen.wait(60)
    since = time.time()
    stack.start_worker()
    finals = load.settle(timeout=60)
    _configure(stack, latency_ms=0)
    return load.audit("worker SIGTERM", finals, since)


def redis_restarted(stack: Stack, jobs: int = 200) -> FaultReport:
    """Restart Redis (it keeps nothing) during a submit burst; the reconciler re-sends."""
    _configure(stack, latency_ms=100)
    load = Load(stack, "redis")
    burst = threading.Thread(target=load.submit, args=(jobs,), kwargs={"spread": 3.0})
    burst.start()
    time.sleep(1.0)
    stack.restart_redis(down_seconds=1.0)
    since = time.time()
    burst.join()
    finals = load.settle(timeout=90)
    _configure(stack, latency_ms=0)
    return load.audit("redis restart (no persistence)", finals, since)


def redis_down_readiness(stack: Stack) -> tuple[int, dict[str, Any], float]:
    """While Redis is down: what /readyz says, and how fast a submit is answered."""
    stack.processes["redis"].kill()
    try:
        with stack.client() as api:
            ready = api.get("/readyz")
            started = time.monotonic()
            api.post("/v1/chat", json={"message": "while redis is down", "user_id": "down"})
            elapsed = time.monotonic() - started
        return ready.status_code, ready.json(), elapsed
    finally:
        stack.start_redis()


def upstream_flaky(stack: Stack, jobs: int = 100) -> FaultReport:
    """30 % of upstream calls answer 429 (with Retry-After), 10 % answer 500."""
    _configure(stack, faults={"429": 0.3, "500": 0.1}, retry_after_ms=200)
    load = Load(stack, "flaky")
    since = time.time()
    load.submit(jobs)
    finals = load.settle(timeout=120)
    _reset_upstream(stack)
    return load.audit("upstream 30% 429 + 10% 500", finals, since)


def upstream_hangs(stack: Stack, jobs: int = 10) -> FaultReport:
    """The upstream stops answering: jobs fail with upstream_timeout, none waits forever."""
    _configure(stack, hang=True)
    load = Load(stack, "hang")
    since = time.time()
    load.submit(jobs)
    finals = load.settle(timeout=60)
    _reset_upstream(stack)
    return load.audit("upstream hangs", finals, since)


def database_down(stack: Stack, jobs: int = 20) -> tuple[FaultReport, list[tuple[int, float]]]:
    """Take the database away during submits; refused submits must leave nothing behind."""
    load = Load(stack, "dbdown")
    load.submit(jobs // 2)
    lock: sqlite3.Connection | None = None
    if stack.proxy_database:
        stack.database_proxy.cut()
    else:
        lock = sqlite3.connect(stack.database_url.removeprefix("sqlite:///"), timeout=1)
        lock.execute("BEGIN EXCLUSIVE")
    before = len(load.refusals)
    load.submit(4, threads=4)
    during = [(status, elapsed) for status, elapsed, _ in load.refusals[before:]]
    if lock is not None:
        lock.rollback()
        lock.close()
    else:
        stack.database_proxy.restore()
    since = time.time()
    load.submit(jobs - jobs // 2 - 4)
    finals = load.settle(timeout=60)
    report = load.audit("database down", finals, since)
    # Nothing half-written: the jobs listed are exactly the accepted ones.
    report.lost += len(set(finals) ^ set(load.accepted))
    return report, during


def beats_twice(stack: Stack, jobs: int = 30) -> FaultReport:
    """Two beats at once, and every message lost: each job still runs exactly once."""
    second = stack.start_beat("beat-2")
    try:
        stack.processes["worker"].stop()
        load = Load(stack, "twobeats")
        load.submit(jobs)
        redis.Redis.from_url(stack.redis_url).flushall()
        since = time.time()
        stack.start_worker()
        finals = load.settle(timeout=60)
        return load.audit("two beats, messages lost", finals, since)
    finally:
        second.stop()


SCENARIOS = [
    "worker_killed",
    "worker_terminated",
    "redis_restarted",
    "upstream_flaky",
    "upstream_hangs",
    "database_down",
    "beats_twice",
]


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fault scenarios and print a table.")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--only", choices=SCENARIOS, action="append")
    args = parser.parse_args()
    if args.database == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        raise SystemExit("set TEST_DATABASE_URL to a PostgreSQL database to run on PostgreSQL")
    stack = Stack(
        database=args.database,
        settings=FAULT_SETTINGS,
        proxy_database=args.database == "postgresql",
    ).start()
    reports = []
    try:
        for name in args.only or SCENARIOS:
            print(f"running {name} …", flush=True)
            outcome = globals()[name](stack)
            reports.append(outcome[0] if isinstance(outcome, tuple) else outcome)
    finally:
        stack.stop()
    print()
    print_table(reports)


if __name__ == "__main__":
    main()
