"""Concurrency with a slow upstream: 2,000 jobs submitted at once, the upstream taking 1 s a call,
ONE worker process with WORKER_CONCURRENCY threads. Beside it, the original example's design
(bench/sync_gateway_app.py: the upstream called inside the request) under gunicorn with 4 sync
workers and with 4 gthread workers x 32 threads, driven by the same 2,000 requests, 500 at once;
the worker's floor: a bare Celery worker of as many threads whose task makes only the two upstream
calls each of these chat jobs makes (each starts a conversation): the upstream conversation, then
a response streamed in it through the SDK (bench/bare_celery.py), the same 2,000 tasks sent at
once; and the ceiling: the
offline upstream alone under wrk (600 connections, 10 s), the streamed calls a second it serves.

    python -m bench.slow_upstream [--jobs 2000] [--worker-concurrency 512] [--database ...]

Upstream calls in flight come from the offline upstream's request log (each call's arrival
time): the most calls that arrived within one latency of each other were all in flight at once,
since each lasts at least the latency. The log keeps 10,000 calls, enough for 2,000 jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx
from redis import Redis

from bench.bare_celery import CONVERSATION_TASK, QUEUE, make_app
from bench.common import (
    LOAD_ERRORS,
    MODEL,
    LoadClient,
    add_database_option,
    all_at_once,
    databases,
    exit_cleanly_on_sigterm,
    job_timings,
    mib,
    print_table,
    repeated_jobs_note,
    slow_upstream_stack,
    wait_for_terminal_jobs,
)
from bench.processes import (
    PeakSampler,
    clean_env,
    cpu_spent,
    established_connections,
    gunicorn,
    offline_upstream,
    pid_of,
    rss_bytes,
    serve_product_api,
    start_bare_celery_worker,
)
from bench.wrk import wrk
from tests.harness import Stack

SYNC_APP = "bench.sync_gateway_app:app"
UPSTREAM_CONNECTIONS = 600
UPSTREAM_SECONDS = 10
STREAMED_CALL = json.dumps({"model": MODEL, "input": "hi", "stream": True})
SYNC_SETTINGS = [
    ("sync gateway, gunicorn 4 sync workers", ["-w", "4"]),
    ("sync gateway, gunicorn 4 gthread x 32", ["-w", "4", "-k", "gthread", "--threads", "32"]),
]


def peak_in_flight(arrivals: list[float], latency: float) -> int:
    """The most calls that arrived within `latency` of each other (a lower bound of the peak)."""
    ordered = sorted(arrivals)
    best = first = 0
    for last, arrived in enumerate(ordered):
        while ordered[first] <= arrived - latency:
            first += 1
        best = max(best, last - first + 1)
    return best


def upstream_arrivals(upstream_url: str) -> list[float]:
    stats = httpx.get(f"{upstream_url}/_offline/stats", timeout=120).json()
    return [entry["received_at"] for entry in stats["requests"]]


@dataclass(frozen=True)
class Run:
    """One design's run: what completed, how fast, how many calls at once, in how much memory."""

    label: str
    outcome: str
    makespan: float  # seconds; NaN when nothing completed
    completed: int
    in_flight: int
    connections: float
    rss: float  # bytes

    @property
    def rate(self) -> float:
        return self.completed / self.makespan if self.completed else math.nan

    def row(self) -> list[str]:
        if not self.completed:
            return [self.label, self.outcome, "-", "-", "-", "-", "-"]
        return [
            self.label,
            self.outcome,
            f"{self.makespan:.1f} s",
            f"{self.rate:.0f}",
            str(self.in_flight),
            f"{self.connections:.0f}",
            mib(self.rss),
        ]


def measured_run(
    label: str,
    outcome: str,
    makespan: float,
    ok: int,
    arrivals: list[float],
    peaks: dict[str, float],
    args: argparse.Namespace,
) -> Run:
    in_flight = peak_in_flight(arrivals, args.latency_ms / 1000)
    return Run(label, outcome, makespan, ok, in_flight, peaks["connections"], peaks["rss"])


def run_gateway(database: str, args: argparse.Namespace, with_floor: bool) -> list[Run]:
    stack = slow_upstream_stack(database, args.worker_concurrency, args.latency_ms, args.jobs)
    try:
        serve_product_api(stack)
        worker = pid_of(stack.processes["worker"])
        gauges = {
            "rss": lambda: rss_bytes(worker),
            "connections": lambda: established_connections(stack.upstream_port),
        }
        with PeakSampler(gauges) as sampler:
            first_sent = time.time()
            answers = asyncio.run(
                send_all(stack.api_url, stack.token, args, args.submit_concurrency, "queued")
            )
            accepted = {job_id for code, job_id in answers if code == 202}
            wait_for_terminal_jobs(stack.database_url, len(accepted), args.timeout)
        timings = job_timings(stack.database_url)
        arrivals = upstream_arrivals(stack.upstream_url)
        floor = [run_floor(stack, args)] if with_floor else []
    finally:
        stack.stop()
    statuses = Counter(t.status for t in timings)
    last_finished = max(t.finished_at.timestamp() for t in timings if t.finished_at)
    codes = Counter(code for code, _job_id in answers)
    outcome = " ".join(f"{status} {count}" for status, count in sorted(statuses.items()))
    if set(codes) != {202}:
        outcome += " submits " + " ".join(f"{c}x{n}" for c, n in sorted(codes.items()))
    outcome += repeated_jobs_note([job_id for _code, job_id in answers])
    label = f"gateway ({database}), 1 worker x {args.worker_concurrency} threads"
    makespan = last_finished - first_sent
    ok = statuses["completed"]
    return [measured_run(label, outcome, makespan, ok, arrivals, sampler.peaks, args), *floor]


def run_floor(stack: Stack, args: argparse.Namespace) -> Run:
    """The stack's worker and beat replaced by a bare Celery worker of as many threads whose task
    only makes a chat job's two upstream calls (a conversation, a response streamed in it);
    `args.jobs` such tasks sent at once."""
    stack.processes["worker"].stop()
    stack.processes["beat"].stop()
    httpx.post(f"{stack.upstream_url}/_offline/reset", timeout=30).raise_for_status()
    worker = pid_of(start_bare_celery_worker(stack, args.worker_concurrency))
    key = "bench:slow-upstream-floor"
    gauges = {
        "rss": lambda: rss_bytes(worker),
        "connections": lambda: established_connections(stack.upstream_port),
    }
    with PeakSampler(gauges) as sampler:
        first_sent = time.time()
        send_floor_tasks(stack.redis_url, key, args.jobs)
        finished = finish_times(stack.redis_url, key, args.jobs, args.timeout)
    arrivals = upstream_arrivals(stack.upstream_url)
    label = f"floor: bare Celery, 1 worker x {args.worker_concurrency} threads, SDK calls only"
    outcome = f"completed {len(finished)}"
    if len(finished) < args.jobs:
        outcome += f" (+{args.jobs - len(finished)} unfinished after {args.timeout:.0f} s)"
    makespan = max(finished, default=math.nan) - first_sent
    return measured_run(label, outcome, makespan, len(finished), arrivals, sampler.peaks, args)


def send_floor_tasks(redis_url: str, key: str, count: int) -> None:
    celery = make_app(redis_url)
    try:
        for index in range(count):
            celery.send_task(CONVERSATION_TASK, args=[key, f"job {index}", MODEL], queue=QUEUE)
    finally:
        celery.close()


def finish_times(redis_url: str, key: str, count: int, timeout: float) -> list[float]:
    """The finish times the floor's tasks push to `key`, until `count` came or none for
    `timeout` seconds."""
    finished: list[float] = []
    with Redis.from_url(redis_url) as redis:
        while len(finished) < count:
            answer = redis.blpop([key], timeout=timeout)
            if answer is None:
                break
            finished.append(float(answer[1]))
    return finished


def run_sync(label: str, options: list[str], args: argparse.Namespace, workdir: Path) -> Run:
    with offline_upstream(workdir, args.latency_ms) as (upstream_url, _upstream):
        env = clean_env()
        env["OPENAI_BASE_URL"] = f"{upstream_url}/v1"
        upstream_port = urlparse(upstream_url).port or 0
        with gunicorn(label, SYNC_APP, options, env, workdir) as (process, url):
            server = pid_of(process)
            gauges = {
                "rss": lambda: rss_bytes(server),
                "connections": lambda: established_connections(upstream_port),
            }
            with PeakSampler(gauges) as sampler:
                first_sent = time.time()
                # A connection a request, as from many users: kept alive, the burst's connections
                # all went to the one gunicorn worker that accepted first (32 calls in flight).
                answers = asyncio.run(
                    send_all(url, None, args, args.sync_clients, "completed", keep_alive=False)
                )
                makespan = time.time() - first_sent
        arrivals = upstream_arrivals(upstream_url)
    codes = Counter(code for code, _id in answers)
    outcome = " ".join(f"{code}x{count}" for code, count in sorted(codes.items()))
    return measured_run(label, outcome, makespan, codes[200], arrivals, sampler.peaks, args)


def run_upstream_alone(args: argparse.Namespace, workdir: Path) -> list[str]:
    """The offline upstream by itself under wrk (C: its client costs next to nothing): the
    ceiling of every design above, which share this machine's cores with it."""
    with offline_upstream(workdir, args.latency_ms) as (upstream_url, upstream):
        port = urlparse(upstream_url).port or 0
        connections = {"connections": lambda: established_connections(port)}
        with cpu_spent(upstream) as spent, PeakSampler(connections) as sampler:
            measured = wrk(
                f"{upstream_url}/v1/responses",
                STREAMED_CALL,
                "offline",
                threads=2,
                connections=UPSTREAM_CONNECTIONS,
                seconds=UPSTREAM_SECONDS,
                workdir=workdir,
                timeout_seconds=30,
            )
        [cpu] = spent
        arrivals = upstream_arrivals(upstream_url)
    errors = f"{measured.non_2xx} non-2xx, {measured.socket_errors} socket errors"
    return [
        f"ceiling: the offline upstream alone, wrk {UPSTREAM_CONNECTIONS} connections",
        f"{measured.requests} answered in {UPSTREAM_SECONDS} s ({errors}), p50 "
        f"{measured.p50:.2f} s, upstream CPU {cpu / measured.requests * 1000:.1f} ms a call",
        "-",
        f"{measured.rate:.0f}",
        str(peak_in_flight(arrivals, args.latency_ms / 1000)),
        f"{sampler.peaks['connections']:.0f}",
        "-",
    ]


async def send_all(
    url: str,
    token: str | None,
    args: argparse.Namespace,
    concurrency: int,
    expect: str,
    keep_alive: bool = True,
) -> list[tuple[int, str]]:
    """POST /v1/chat `args.jobs` times, `concurrency` at once; answer each status code (0: no
    answer; negated: not the `expect`ed body status, a job queued or a reply complete) and id."""
    async with LoadClient(url, token, concurrency, keep_alive) as client:

        async def one(index: int) -> tuple[int, str]:
            body = {"message": f"job {index}", "user_id": f"user-{index % args.users}"}
            try:
                answer = await client.post("/v1/chat", body)
            except LOAD_ERRORS as exc:
                print(f"POST /v1/chat failed: {exc!r}", file=sys.stderr)
                return 0, ""
            if answer.status_code >= 300:
                return answer.status_code, ""
            reply = answer.json()
            code = answer.status_code if reply.get("status") == expect else -answer.status_code
            return code, str(reply.get("id", ""))

        return await all_at_once(args.jobs, concurrency, one)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=1000, help="each upstream call")
    parser.add_argument("--worker-concurrency", type=int, default=512, help="worker threads")
    parser.add_argument("--users", type=int, default=20, help="jobs spread over this many users")
    parser.add_argument("--submit-concurrency", type=int, default=64, help="submits at once")
    parser.add_argument("--sync-clients", type=int, default=500, help="baseline requests at once")
    parser.add_argument("--timeout", type=float, default=900, help="give up after this (s)")
    parser.add_argument(
        "--skip-baselines", action="store_true", help="the gateway only: no baselines or floors"
    )
    add_database_option(parser)
    return parser


def main() -> None:
    args = parser().parse_args()
    exit_cleanly_on_sigterm()
    if not args.skip_baselines and shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: install it with 'sudo apt-get install wrk'")
    rows = [
        run.row()
        for index, database in enumerate(databases(args.database))
        for run in run_gateway(database, args, with_floor=index == 0 and not args.skip_baselines)
    ]
    if not args.skip_baselines:
        with tempfile.TemporaryDirectory(prefix="bench-sync-gateway-") as workdir:
            rows += [
                run_sync(label, options, args, Path(workdir)).row()
                for label, options in SYNC_SETTINGS
            ]
            rows.append(run_upstream_alone(args, Path(workdir)))
    print_table(
        f"Slow upstream: {args.jobs} chats at once, upstream {args.latency_ms} ms a call "
        f"(targets: >= 500 in flight, makespan <= 8 s, worker RSS <= 300 MB)",
        [
            "design",
            "outcome",
            "makespan",
            "jobs/s",
            "peak in flight",
            "peak upstream conns",
            "peak RSS",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
