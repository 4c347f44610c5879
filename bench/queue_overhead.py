"""Queue overhead: with an upstream that answers at once, how long from a submit until a client
blocked in `GET /v1/jobs/{id}?wait=30` sees the job completed, at a steady 200 jobs/s (open loop:
each job is submitted on schedule whatever the others are doing)? And how soon after the job's
finished_at does the long poll answer? Beside it, three floors on the same Redis: a bare Celery
round trip (a task that pushes its finish time to a Redis list the sender waits on), the same
task after the one step every chat job needs, a response streamed through the SDK, and after the
two a chat job that starts a conversation needs in the default history mode (the upstream
conversation, then the response in it), as each of this benchmark's jobs does.

    python -m bench.queue_overhead [--jobs 2000] [--rate 200] [--database sqlite|postgresql|both]
        [--skip-floors]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from redis.asyncio import Redis as AsyncRedis

from bench.bare_celery import CONVERSATION_TASK, FINISH_TASK, QUEUE, UPSTREAM_TASK, make_app
from bench.common import (
    API_THREADS,
    LOAD_ERRORS,
    MODEL,
    PRODUCTION_SETTINGS,
    WORKER_CONCURRENCY,
    LoadClient,
    add_database_option,
    databases,
    exit_cleanly_on_sigterm,
    fine_ms,
    job_timings,
    ms,
    open_loop,
    percentile,
    print_table,
    repeated_jobs_note,
)
from bench.processes import (
    cpu_spent,
    serve_product_api,
    start_bare_celery_worker,
)
from shared.jobs.states import TERMINAL
from tests.harness import Stack

FLOOR_WAIT_SECONDS = 60


@dataclass(frozen=True)
class Seen:
    """One job as its client saw it; times are unix seconds."""

    job_id: str
    sent: float  # the submit left the client
    seen: float  # the terminal job came back to the client
    status: str
    finished: float | None = None  # the job's finished_at (the DB), or the floor task's own time

    @property
    def round_trip(self) -> float:
        return self.seen - self.sent

    @property
    def notice_gap(self) -> float | None:
        return None if self.finished is None else self.seen - self.finished


async def product_jobs(
    api_url: str, token: str, args: argparse.Namespace
) -> tuple[list[Seen], list[float]]:
    # A connection for every job that may be waiting at once: none queues in the client.
    async with LoadClient(api_url, token, connections=args.warmup + args.jobs) as api:

        async def submit_and_wait(index: int) -> Seen:
            sent = time.time()
            try:
                return await submitted_and_waited(index, sent)
            except LOAD_ERRORS as exc:
                print(f"job {index}: {exc!r}", file=sys.stderr)
                return Seen("", sent, time.time(), type(exc).__name__)

        async def submitted_and_waited(index: int, sent: float) -> Seen:
            user = f"user-{index % args.users}"
            answer = await api.post("/v1/chat", {"message": f"job {index}", "user_id": user})
            if answer.status_code != 202:
                return Seen("", sent, time.time(), f"submit {answer.status_code}")
            job_id = answer.json()["id"]
            while True:  # ?wait answers after 30 s at the latest: wait again until terminal
                answer = await api.get(f"/v1/jobs/{job_id}", params={"wait": 30, "user_id": user})
                if answer.status_code != 200:
                    return Seen(job_id, sent, time.time(), f"poll {answer.status_code}")
                status = answer.json()["status"]
                if status in TERMINAL:
                    return Seen(job_id, sent, time.time(), status)

        await open_loop(args.warmup, args.rate, submit_and_wait)
        return await asyncio.wait_for(
            open_loop(args.jobs, args.rate, submit_and_wait), args.timeout
        )


# The floors, each a task of bench/bare_celery.py: (label, task, its arguments after the key).
FLOORS = [
    ("bare Celery round trip (floor)", FINISH_TASK, []),
    ("bare round trip + SDK call (floor)", UPSTREAM_TASK, ["hi", MODEL]),
    ("bare round trip + conversation + SDK call (floor)", CONVERSATION_TASK, ["hi", MODEL]),
]
TWO_CALL_FLOOR = FLOORS[2]


@dataclass(frozen=True)
class Summary:
    """One path's run: how many jobs completed (and how the others ended), the round trip and
    the notice gap percentiles (seconds), the load generator's lag and the CPU a job."""

    label: str
    completed: int
    others: dict[str, int]
    repeated: str
    round_trip_p50: float
    round_trip_p99: float
    round_trip_max: float
    gap_p50: float
    gap_p99: float
    lag_p99: float
    cpu: str = ""

    def row(self) -> list[str]:
        return [
            self.label,
            f"{self.completed}"
            + "".join(f" (+{count} {status})" for status, count in sorted(self.others.items()))
            + self.repeated,
            ms(self.round_trip_p50),
            ms(self.round_trip_p99),
            ms(self.round_trip_max),
            fine_ms(self.gap_p50),
            fine_ms(self.gap_p99),
            ms(self.lag_p99),
            self.cpu,
        ]


def product_stack(database: str) -> Stack:
    """A started stack with the product's settings, its upstream answering at once."""
    return Stack(
        database=database,
        worker_concurrency=WORKER_CONCURRENCY,
        settings={**PRODUCTION_SETTINGS, "OFFLINE_OPENAI_LATENCY_MS": "0"},
    ).start()


def run_stack(database: str, args: argparse.Namespace, with_floor: bool) -> list[Summary]:
    """The gateway on `database`; then, if asked, the floors on the same Redis."""
    stack = product_stack(database)
    try:
        summaries = [run_gateway(stack, database, args)]
        if with_floor:
            stack.processes["worker"].stop()
            stack.processes["beat"].stop()
            start_bare_celery_worker(stack, WORKER_CONCURRENCY)
            summaries += [run_floor(stack, args, *floor) for floor in FLOORS]
        return summaries
    finally:
        stack.stop()


def run_gateway(stack: Stack, database: str, args: argparse.Namespace) -> Summary:
    """The stack's product, its API under the production gunicorn settings, at the run's rate."""
    api = serve_product_api(stack, threads=args.api_threads)
    # The offline upstream's CPU too: on this machine it takes cores a real upstream would not.
    with cpu_spent(api, stack.processes["worker"], stack.processes["upstream"]) as cpu:
        seen, lags = asyncio.run(product_jobs(stack.api_url, stack.token, args))
    finished = {
        t.job_id: t.finished_at.timestamp()
        for t in job_timings(stack.database_url)
        if t.finished_at is not None
    }
    seen = [replace(s, finished=finished[s.job_id]) if s.job_id in finished else s for s in seen]
    # Refused submits cost little: the CPU is what each job that ran to its end cost.
    return summarize(f"gateway ({database})", seen, lags, cpu_each(cpu, len(finished)))


def run_floor(
    stack: Stack, args: argparse.Namespace, label: str, task: str, task_args: list[str]
) -> Summary:
    """`task` sent to the stack's bare worker at the run's rate (open loop), each sender waiting
    for its finish time on a Redis list of its own."""
    celery = make_app(stack.redis_url)

    async def drive() -> tuple[list[Seen], list[Seen], list[float]]:
        # A connection for every task that may be waiting at once: none queues in the client.
        connections = args.warmup + args.jobs
        async with AsyncRedis.from_url(
            stack.redis_url, max_connections=connections, socket_timeout=FLOOR_WAIT_SECONDS + 5
        ) as redis:

            async def round_trip(index: int) -> Seen:
                key = f"bench:floor:{uuid.uuid4().hex}"
                sent = time.time()
                celery.send_task(task, args=[key, *task_args], queue=QUEUE)  # one quick publish
                answer = await redis.blpop([key], timeout=FLOOR_WAIT_SECONDS)
                if answer is None:
                    return Seen(key, sent, time.time(), "timeout")
                return Seen(key, sent, time.time(), "completed", float(answer[1]))

            warmup, _lags = await open_loop(args.warmup, args.rate, round_trip)
            seen, lags = await asyncio.wait_for(
                open_loop(args.jobs, args.rate, round_trip), args.timeout
            )
            return warmup, seen, lags

    try:
        with cpu_spent(stack.processes["bare-worker"], stack.processes["upstream"]) as cpu:
            warmup, seen, lags = asyncio.run(drive())
    finally:
        celery.close()
    ran = sum(s.status == "completed" for s in warmup + seen)
    return summarize(label, seen, lags, cpu_each(["-", *cpu], ran))


def cpu_each(seconds: Sequence[str | float], jobs: int) -> str:
    """API / worker / upstream CPU a job, in ms; "-" where a path has no such process."""
    return (
        " / ".join(
            f"{value / jobs * 1000:.1f}" if isinstance(value, float) else value for value in seconds
        )
        + " ms"
    )


def summarize(label: str, seen: list[Seen], lags: list[float], cpu: str) -> Summary:
    completed = [s for s in seen if s.status == "completed"]
    trips = [s.round_trip for s in completed]
    gaps = [gap for s in completed if (gap := s.notice_gap) is not None]
    return Summary(
        label=label,
        completed=len(completed),
        others=dict(Counter(s.status for s in seen if s.status != "completed")),
        repeated=repeated_jobs_note([s.job_id for s in seen]),
        round_trip_p50=percentile(trips, 0.5),
        round_trip_p99=percentile(trips, 0.99),
        round_trip_max=max(trips, default=float("nan")),
        gap_p50=percentile(gaps, 0.5),
        gap_p99=percentile(gaps, 0.99),
        lag_p99=percentile(lags, 0.99),
        cpu=cpu,
    )


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=200, help="jobs a second, open loop")
    parser.add_argument("--warmup", type=int, default=50, help="jobs first, not counted")
    parser.add_argument("--users", type=int, default=20, help="jobs spread over this many users")
    # Every blocked ?wait holds one API thread; at 200 jobs/s a second of queueing is 200 of
    # them, more than the 2 x 32 of the production default.
    parser.add_argument("--api-threads", type=int, default=512, help="API_THREADS for the run")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this (s)")
    parser.add_argument("--skip-floors", action="store_true", help="the gateway only")
    add_database_option(parser)
    return parser


def main() -> None:
    args = parser().parse_args()
    exit_cleanly_on_sigterm()
    gateways, floors = [], []
    for index, database in enumerate(databases(args.database)):
        gateway, *floor = run_stack(database, args, with_floor=index == 0 and not args.skip_floors)
        gateways.append(gateway)
        floors += floor
    rows = [summary.row() for summary in gateways + floors]
    print_table(
        f"Queue overhead: {args.jobs} jobs at {args.rate}/s (open loop), upstream instant, one "
        f"worker x {WORKER_CONCURRENCY} threads, API {args.api_threads} threads a process "
        f"(default {API_THREADS}) (target: finished_at -> ?wait answer <= 10 ms)",
        [
            "path",
            "completed",
            "submit->seen p50",
            "p99",
            "max",
            "finished->seen p50",
            "p99",
            "load lag p99",
            "CPU a finished job: API / worker / upstream",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
