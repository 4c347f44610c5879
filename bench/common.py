"""What the benchmarks share: percentiles, a table printer, job timings read from the DB, the
database choice, the product's production settings, open-loop asyncio load, and the CPU
diagnostics' measuring."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import math
import os
import pstats
import resource
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import Session

from shared.core.models import Job
from shared.core.settings import load_settings
from shared.jobs import states
from tests.harness import Stack

T = TypeVar("T")

# The harness's test values (6 s leases, a reconcile pass every second, re-sends after 5 s) make
# beat and the worker busier than a deployment; benchmarks run with the product's defaults.
_DEFAULTS = load_settings({})
PRODUCTION_SETTINGS = {
    "JOB_LEASE_SECONDS": str(_DEFAULTS.JOB_LEASE_SECONDS),
    "RECONCILE_SECONDS": str(_DEFAULTS.RECONCILE_SECONDS),
    "RESEND_AFTER_SECONDS": str(_DEFAULTS.RESEND_AFTER_SECONDS),
    "OPENAI_MAX_RETRIES": str(_DEFAULTS.OPENAI_MAX_RETRIES),
    "OPENAI_TIMEOUT_SECONDS": str(_DEFAULTS.OPENAI_TIMEOUT_SECONDS),
    "RATE_LIMIT": "100000000/minute",
}
WORKER_CONCURRENCY = _DEFAULTS.WORKER_CONCURRENCY  # what `make run` gives its worker
API_WORKERS = _DEFAULTS.API_WORKERS
API_THREADS = _DEFAULTS.API_THREADS
MODEL = _DEFAULTS.OPENAI_MODEL


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM (a `kill`, a timeout) unwinds like Ctrl-C, so each Stack stops its processes."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))


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


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def fine_ms(seconds: float) -> str:
    """Milliseconds with one decimal, for gaps of a few ms."""
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def mib(size: float) -> str:
    return "-" if math.isnan(size) else f"{size / 2**20:.0f} MiB"


@dataclass(frozen=True)
class JobTiming:
    user_id: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    job_id: str = ""

    @property
    def queue_wait(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.started_at - self.created_at).total_seconds()


def job_timings(database_url: str) -> list[JobTiming]:
    engine = create_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(
            select(Job.user_id, Job.created_at, Job.started_at, Job.finished_at, Job.status, Job.id)
        ).all()
    engine.dispose()
    return [JobTiming(*row) for row in rows]


def wait_for_terminal_jobs(database_url: str, count: int, timeout: float) -> int:
    """Poll the database (twice a second) until `count` jobs are terminal; answer how many are."""
    engine = create_engine(database_url)
    deadline = time.monotonic() + timeout
    done = 0
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                done = int(
                    session.scalar(
                        select(func.count()).select_from(Job).where(Job.status.in_(states.TERMINAL))
                    )
                    or 0
                )
            if done >= count:
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    return done


def repeated_jobs_note(job_ids: Sequence[str]) -> str:
    """A warning when 202 answers named the same job twice: those submits were lost (seen on
    PostgreSQL when a new user's first submits race; see bench/README.md)."""
    named = [job_id for job_id in job_ids if job_id]
    repeats = len(named) - len(set(named))
    return f" ({repeats} answers repeat another's job id!)" if repeats else ""


def add_database_option(parser: argparse.ArgumentParser) -> None:
    default = "both" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default=default,
        help="PostgreSQL needs TEST_DATABASE_URL; default: both when it is set, else sqlite",
    )


def add_cpu_options(parser: argparse.ArgumentParser) -> None:
    """The CPU diagnostics' options: one database, and whether to profile."""
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--profile", action="store_true", help="list where the time goes")
    parser.add_argument("--top", type=int, default=40, help="functions to list")


@dataclass(frozen=True)
class Cost:
    """What one call costs this process: CPU seconds and SQL statements sent."""

    cpu: float
    statements: float


def cost_each(
    run: Callable[[], object], times: int, profile: cProfile.Profile | None = None
) -> Cost:
    """What one call of `run` costs, over `times` calls (under `profile` if given)."""
    from shared.core.db import get_engine  # once the caller has set this process's settings

    sent = 0

    def count(*_args: object) -> None:
        nonlocal sent
        sent += 1

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    started = time.process_time()
    if profile is not None:
        profile.enable()
    for _ in range(times):
        run()
    if profile is not None:
        profile.disable()
    cpu = time.process_time() - started
    event.remove(engine, "before_cursor_execute", count)
    return Cost(cpu=cpu / times, statements=sent / times)


def print_cost(
    what: str, cost: Cost, profile: cProfile.Profile | None, top: int, note: str = ""
) -> None:
    """The cost's line, then `note` if any, then the profile's top functions if profiled."""
    how = "profiled" if profile is not None else "not profiled"
    each = f"{cost.cpu * 1000:.2f} ms CPU and {cost.statements:.1f} SQL statements each"
    print(f"{what}: {each}, {how}")
    if note:
        print(note)
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(top)


def databases(choice: str) -> list[str]:
    chosen = ["sqlite", "postgresql"] if choice == "both" else [choice]
    if "postgresql" in chosen and not os.environ.get("TEST_DATABASE_URL"):
        raise SystemExit("set TEST_DATABASE_URL to a PostgreSQL database")
    return chosen


LOAD_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


@dataclass(frozen=True)
class Answer:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class LoadClient:
    """The benchmarks' asyncio HTTP client: connections to one API (kept alive unless asked
    otherwise), a token on each request, whole answers read back; a failed request raises one of
    LOAD_ERRORS.

    It shares the machine's 2 cores with what it measures, so it must cost little: httpx's
    asyncio pool walks every connection it holds on each request (against the offline upstream,
    5.3 ms of client CPU a request with 64 connections, 31 ms with 2,000; aiohttp 0.24 and 0.60).
    """

    def __init__(
        self, base_url: str, token: str | None, connections: int, keep_alive: bool = True
    ) -> None:
        _allow_open_files(connections + 256)
        self._session = aiohttp.ClientSession(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=aiohttp.ClientTimeout(total=900, sock_connect=60),
            connector=aiohttp.TCPConnector(limit=connections, force_close=not keep_alive),
        )

    async def __aenter__(self) -> LoadClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._session.close()

    async def post(self, path: str, body: Any) -> Answer:
        return await self._answer("POST", path, json=body)

    async def get(self, path: str, params: Mapping[str, str | int]) -> Answer:
        return await self._answer("GET", path, params=params)

    async def _answer(self, method: str, path: str, **options: Any) -> Answer:
        async with self._session.request(method, path, **options) as response:
            return Answer(response.status, await response.read())


def _allow_open_files(count: int) -> None:
    """A thousand sockets need more than the usual soft limit of 1,024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count:
        wanted = count if hard == resource.RLIM_INFINITY else min(count, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


async def open_loop(
    count: int, rate: float, start_one: Callable[[int], Coroutine[Any, Any, T]]
) -> tuple[list[T], list[float]]:
    """Start call i at i/rate seconds, whatever earlier calls are doing (open loop); answer the
    results and how late each call started (the load generator falling behind shows there)."""
    loop = asyncio.get_running_loop()
    origin = loop.time()
    tasks: list[asyncio.Task[T]] = []
    lags: list[float] = []
    for index in range(count):
        due = origin + index / rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        lags.append(max(0.0, loop.time() - due))
        tasks.append(asyncio.create_task(start_one(index)))
    return list(await asyncio.gather(*tasks)), lags


async def all_at_once(
    count: int, concurrency: int, start_one: Callable[[int], Awaitable[T]]
) -> list[T]:
    """Run `count` calls, `concurrency` at a time, as fast as they complete."""
    gate = asyncio.Semaphore(concurrency)

    async def gated(index: int) -> T:
        async with gate:
            return await start_one(index)

    return list(await asyncio.gather(*(gated(index) for index in range(count))))


def slow_upstream_stack(
    database: str, worker_concurrency: int, latency_ms: int, jobs_at_once: int
) -> Stack:
    """A started stack with production settings whose upstream takes `latency_ms` a call, and
    whose scheduler lets `jobs_at_once` jobs of one user run and wait on the broker at once."""
    return Stack(
        database=database,
        worker_concurrency=worker_concurrency,
        settings={
            **PRODUCTION_SETTINGS,
            "OFFLINE_OPENAI_LATENCY_MS": str(latency_ms),
            "USER_MAX_INFLIGHT": str(jobs_at_once),
            "BROKER_MAX_PENDING": str(max(jobs_at_once, 2 * worker_concurrency)),
        },
    ).start()
