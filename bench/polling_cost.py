"""Polling cost: 1,000 clients, each with one job the upstream takes 5 s to answer, either polling
`GET /v1/jobs/{id}` (no wait) once a second or blocked in `GET /v1/jobs/{id}?wait=30`. What does
each way cost the API in CPU (utime + stime of gunicorn's master and workers) per completed job,
how many requests does it serve, and how late does each client learn its job finished?

    python -m bench.polling_cost [--clients 1000] [--latency-ms 5000] [--database ...]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, replace

from redis import Redis

from bench.common import (
    API_WORKERS,
    LOAD_ERRORS,
    LoadClient,
    add_database_option,
    databases,
    exit_cleanly_on_sigterm,
    job_timings,
    ms,
    percentile,
    print_table,
    repeated_jobs_note,
    slow_upstream_stack,
    wait_for_terminal_jobs,
)
from bench.processes import PeakSampler, cpu_spent, serve_product_api
from shared.jobs.states import TERMINAL

SUBMIT_ONLY = "submit only, no reads"
POLL = "poll every 1 s"
WAIT = "?wait=30"


@dataclass(frozen=True)
class Watched:
    job_id: str
    status: str
    seen: float  # unix time the client saw the job terminal
    reads: int  # GET /v1/jobs/{id} requests it took


async def watch_all(api_url: str, token: str, mode: str, args: argparse.Namespace) -> list[Watched]:
    submits = asyncio.Semaphore(args.submit_concurrency)
    async with LoadClient(api_url, token, connections=args.clients + 64) as api:

        async def one(index: int) -> Watched:
            try:
                return await watched(index)
            except LOAD_ERRORS as exc:
                print(f"client {index}: {exc!r}", file=sys.stderr)
                return Watched("", type(exc).__name__, time.time(), 0)

        async def watched(index: int) -> Watched:
            user = f"user-{index % args.users}"
            async with submits:
                answer = await api.post("/v1/chat", {"message": f"job {index}", "user_id": user})
            if answer.status_code != 202:
                return Watched("", f"submit {answer.status_code}", time.time(), 0)
            job_id, reads = answer.json()["id"], 0
            if mode == SUBMIT_ONLY:
                return Watched(job_id, "queued", time.time(), 0)
            params: dict[str, str | int] = {"user_id": user}
            if mode == WAIT:
                params["wait"] = 30
            while True:
                if mode == POLL:
                    await asyncio.sleep(args.poll_interval)
                answer = await api.get(f"/v1/jobs/{job_id}", params=params)
                reads += 1
                if answer.status_code != 200:
                    return Watched(job_id, f"read {answer.status_code}", time.time(), reads)
                status = answer.json()["status"]
                if status in TERMINAL:
                    return Watched(job_id, status, time.time(), reads)

        return await asyncio.wait_for(
            asyncio.gather(*(one(index) for index in range(args.clients))), args.timeout
        )


def run(database: str, mode: str, args: argparse.Namespace) -> list[str]:
    stack = slow_upstream_stack(database, args.worker_concurrency, args.latency_ms, args.clients)
    try:
        api = serve_product_api(stack, threads=args.api_threads)
        redis = Redis.from_url(stack.redis_url)
        gauges = {"redis_clients": lambda: float(redis.info("clients")["connected_clients"])}
        with cpu_spent(api) as spent, PeakSampler(gauges, interval=0.5) as sampler:
            watched = asyncio.run(watch_all(stack.api_url, stack.token, mode, args))
            if mode == SUBMIT_ONLY:
                accepted = {w.job_id for w in watched if w.job_id}
                wait_for_terminal_jobs(stack.database_url, len(accepted), args.timeout)
        [cpu] = spent
        timings = job_timings(stack.database_url)
        finished = {t.job_id: t.finished_at for t in timings}
    finally:
        stack.stop()
    if mode == SUBMIT_ONLY:  # nobody watched: count what the database says
        done = {t.job_id for t in timings if t.status == "completed"}
        watched = [replace(w, status="completed") if w.job_id in done else w for w in watched]
    completed = [w for w in watched if w.status == "completed"]
    lateness = [
        w.seen - moment.timestamp() for w in completed if (moment := finished.get(w.job_id))
    ]
    reads = sum(w.reads for w in watched)
    jobs_done = max(1, len({w.job_id for w in completed}))
    return [
        database,
        mode,
        f"{len({w.job_id for w in completed})}/{len(watched)}"
        + repeated_jobs_note([w.job_id for w in watched]),
        f"{cpu:.1f} s",
        f"{cpu / jobs_done * 1000:.0f} ms",
        str(reads),
        f"{reads / jobs_done:.1f}",
        ms(percentile(lateness, 0.5)) if reads else "-",
        ms(percentile(lateness, 0.99)) if reads else "-",
        f"{sampler.peaks['redis_clients']:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="one job each")
    parser.add_argument("--latency-ms", type=int, default=5000, help="each upstream call")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--worker-concurrency", type=int, default=512, help="worker threads")
    # Each blocked ?wait holds an API thread: 2 processes x 512 seat 1,000 waiting clients.
    parser.add_argument("--api-threads", type=int, default=512, help="API_THREADS for the run")
    parser.add_argument("--users", type=int, default=20, help="jobs spread over this many users")
    parser.add_argument("--submit-concurrency", type=int, default=64, help="submits at once")
    parser.add_argument("--timeout", type=float, default=900, help="give up after this (s)")
    add_database_option(parser)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    modes = (SUBMIT_ONLY, POLL, WAIT)
    rows = [run(database, mode, args) for database in databases(args.database) for mode in modes]
    print_table(
        f"Polling cost: {args.clients} clients, one job each, upstream {args.latency_ms} ms, "
        f"worker x {args.worker_concurrency} threads, API {API_WORKERS} x {args.api_threads} "
        "threads (every row includes each job's submit: the first row is that alone)",
        [
            "database",
            "client",
            "jobs done / clients",
            "API CPU",
            "CPU a job",
            "GETs served",
            "GETs a job",
            "finished->seen p50",
            "p99",
            "peak Redis clients",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
