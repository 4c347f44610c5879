"""The gateway against its floors, as ratios measured in one run: short versions of the cost
benchmarks (issue 23's targets 1-5), each beside its floor on the same machine at the same time,
so each ratio means the same on 2 cores and on 64. Prints one table whose last line is
`ratios: N/M met`; exits 0 only when every target is met.

    python -m bench.ratios [--database sqlite|postgresql|both] [--quick]

1. worker CPU a chat job (`bench.job_cpu`), in one process: a job that starts a conversation
   against a new upstream conversation and a response streamed in it; a job that continues one
   against a response streamed in an existing conversation; each <= 1.5x.
2. API CPU a job (`bench.submit_cpu`), in one process: a submit plus the `?wait` read that
   returns the finished job, against one request to the submit floor; <= 3x.
3. slow upstream (`bench.slow_upstream`; 1 s a call, 2,000 jobs at once, one worker process):
   jobs/s and peak calls in flight each >= 0.8x the SDK-call floor's (its tasks make the two
   calls each of these chat jobs makes: a conversation, a response in it); worker RSS <= 300 MB.
4. submit saturation (`bench.submit_throughput`; wrk, 32 connections, two rounds on each in
   turn), on each database: >= 0.8x the submit floor under the product's gunicorn settings,
   0 errors; then hey at 80% of the floor's saturation rate: the rate held (95% of it
   answered), every request 202, p99 <= 2x the floor's p99 at that rate.
5. queue overhead (`bench.queue_overhead`): at 100 jobs/s, or the highest of 50 and 20 at which
   the two-call floor keeps up (every task back, p99 <= 100 ms), submit -> completed seen by a
   `?wait` client: p50 <= the floor's p50 + 15 ms, p99 <= 100 ms; the `?wait` answer <= 10 ms
   after the job's end (p99).

1, 2, 3 and 5 run on SQLite (what `make run` uses) unless --database names PostgreSQL alone; 4
runs on each database asked for (both by default when TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, TypeVar

from bench import job_cpu, queue_overhead, slow_upstream, submit_cpu, submit_throughput
from bench.common import (
    WORKER_CONCURRENCY,
    add_database_option,
    databases,
    exit_cleanly_on_sigterm,
    mib,
    print_table,
)
from bench.processes import PRODUCT_GUNICORN, start_bare_celery_worker
from bench.wrk import Saturation

T = TypeVar("T")

RSS_LIMIT = 300e6  # bytes: the target's 300 MB
QUEUE_RATES = (100, 50, 20)
KEPT_UP_P99 = 0.100  # seconds: the floor's p99 at a rate it keeps up with
HELD_SHARE = 0.95  # of the fixed rate asked for: what the gateway must answer to have held it
SATURATION_ROUNDS = 2  # of wrk on the gateway and on the floor, in turn


@dataclass(frozen=True)
class Ratio:
    """One row of the table: a measure, the gateway's and the floor's figures, their ratio."""

    measure: str
    gateway: str
    floor: str
    ratio: float  # gateway over floor; NaN where the target is absolute
    target: str
    met: bool

    def row(self) -> list[str]:
        ratio = "-" if math.isnan(self.ratio) else f"{self.ratio:.2f}x"
        met = "yes" if self.met else "NO"
        return [self.measure, self.gateway, self.floor, ratio, self.target, met]


def in_fresh_process(measure: Callable[..., T], *args: Any) -> T:
    """`measure(*args)` in a new Python process: the in-process measures make their process a
    worker or an API of a stack of their own, with that stack's settings cached. Its log lines
    (the API's, a line a request) go to a file, not between the table's progress lines."""
    log_fd, log = tempfile.mkstemp(prefix="bench-ratios-", suffix=".log")
    os.close(log_fd)
    with ProcessPoolExecutor(
        1, mp_context=get_context("spawn"), initializer=_stderr_to, initargs=(log,)
    ) as pool:
        return pool.submit(measure, *args).result()


def _stderr_to(path: str) -> None:
    os.dup2(os.open(path, os.O_WRONLY | os.O_APPEND), sys.stderr.fileno())


def worker_cpu(database: str, jobs: int, notes: list[str]) -> list[Ratio]:
    cpu = in_fresh_process(job_cpu.measure, database, jobs)
    books, one_call = cpu.bookkeeping.cost.cpu, cpu.one_call.cost.cpu
    notes.append(
        f"not a target: the worker's writes and events for a continuing job alone, no upstream "
        f"call ({database}): {in_ms(books)} = {books / one_call:.2f}x the one-call floor, where "
        f"the 1.5x target leaves 0.5x"
    )
    rows = [
        ("worker CPU, a job starting a conversation", cpu.new_job, cpu.two_calls),
        ("worker CPU, a job continuing one", cpu.continued_job, cpu.one_call),
    ]
    return [
        at_most(f"{what} ({database})", job.cost.cpu, floor.cost.cpu, 1.5, in_ms)
        for what, job, floor in rows
    ]


def api_cpu(database: str, submits: int) -> list[Ratio]:
    cpu = in_fresh_process(submit_cpu.measure, database, submits)
    what = f"API CPU, a submit + its ?wait read ({database})"
    return [at_most(what, cpu.job, cpu.floor.cpu, 3.0, in_ms)]


def slow_upstream_ratios(database: str, jobs: int) -> list[Ratio]:
    args = slow_upstream.parser().parse_args(["--jobs", str(jobs)])
    gateway, floor = slow_upstream.run_gateway(database, args, with_floor=True)
    where = f"({database}, {jobs} jobs, 1 s upstream)"
    complete = gateway.completed == floor.completed == jobs
    note = "" if complete else f", {gateway.completed} / {floor.completed} of {jobs} completed"
    return [
        at_least(
            f"slow upstream jobs/s {where}{note}", gateway.rate, floor.rate, 0.8, "{:.0f}/s".format
        ),
        at_least(
            f"slow upstream calls in flight {where}",
            gateway.in_flight,
            floor.in_flight,
            0.8,
            "{:.0f}".format,
        ),
        Ratio(
            f"slow upstream worker RSS {where}",
            mib(gateway.rss),
            mib(floor.rss),
            gateway.rss / floor.rss,
            "<= 300 MB",
            gateway.rss <= RSS_LIMIT,
        ),
    ]


def submit_ratios(database: str, seconds: int) -> list[Ratio]:
    args = submit_throughput.parser().parse_args(["--seconds", str(seconds)])
    with submit_throughput.product_submits(database) as stack:
        floor_label = f"floor: bare + job row ({database})"
        app = submit_throughput.FLOOR_APP
        with submit_throughput.served_beside(stack, floor_label, app, PRODUCT_GUNICORN) as url:
            # In turn, a round each at a time: a moment of a busy machine falls on both.
            rounds = [
                (
                    submit_throughput.saturate(stack.api_url, stack.token, args, stack.workdir),
                    submit_throughput.saturate(url, stack.token, args, stack.workdir),
                )
                for _ in range(SATURATION_ROUNDS)
            ]
            product = combined([gateway for gateway, _ in rounds])
            floor = combined([bare for _, bare in rounds])
            rate = 0.8 * floor.rate
            args.hey_rate_per_client = rate / args.hey_clients
            floor_fixed = submit_throughput.fixed_rate(url, stack.token, args)
        product_fixed = submit_throughput.fixed_rate(stack.api_url, stack.token, args)
    saturation = at_least(
        f"submit saturation, wrk 32 connections ({database})",
        product.rate,
        floor.rate,
        0.8,
        "{:.0f} req/s".format,
    )
    errors = errors_of(product)
    ok = sum(count for code, count in product_fixed.codes.items() if code == "202")
    total = sum(product_fixed.codes.values()) + product_fixed.errors
    # hey's clients wait for each answer: a gateway slower than the rate is offered less, so the
    # rate it held is part of the target.
    held = product_fixed.rate >= HELD_SHARE * rate
    fixed = at_most(
        f"submit p99 at {rate:.0f} req/s, 80% of the floor's ({database}), "
        f"held {product_fixed.rate:.0f} req/s, {ok}/{total} 202",
        product_fixed.p99,
        floor_fixed.p99,
        2.0,
        in_ms,
    )
    return [
        Ratio(
            saturation.measure + (f", {errors} errors" if errors else ", 0 errors"),
            saturation.gateway,
            saturation.floor,
            saturation.ratio,
            saturation.target + ", 0 errors",
            saturation.met and not errors,
        ),
        Ratio(
            fixed.measure,
            fixed.gateway,
            fixed.floor,
            fixed.ratio,
            "rate held, all 202, " + fixed.target,
            fixed.met and ok == total and held,
        ),
    ]


def combined(rounds: list[Saturation]) -> Saturation:
    """Rounds of equal length as one: their mean rate, every error, the worst latencies."""
    failed: Counter[int] = Counter()
    for one in rounds:
        failed.update(one.failed)
    return Saturation(
        requests=sum(one.requests for one in rounds),
        rate=sum(one.rate for one in rounds) / len(rounds),
        non_2xx=sum(one.non_2xx for one in rounds),
        failed=dict(failed),
        socket_errors=sum(one.socket_errors for one in rounds),
        p50=max(one.p50 for one in rounds),
        p99=max(one.p99 for one in rounds),
    )


def errors_of(saturation: Saturation) -> int:
    return saturation.non_2xx + saturation.socket_errors


def queue_overhead_ratios(database: str, jobs: int) -> list[Ratio]:
    args = queue_overhead.parser().parse_args(["--jobs", str(jobs)])
    stack = queue_overhead.product_stack(database)
    try:
        bare = start_bare_celery_worker(stack, WORKER_CONCURRENCY)
        for rate in QUEUE_RATES:
            args.rate = rate
            floor = queue_overhead.run_floor(stack, args, *queue_overhead.TWO_CALL_FLOOR)
            if floor.completed == jobs and floor.round_trip_p99 <= KEPT_UP_P99:
                break
            print(f"the two-call floor falls behind at {rate} jobs/s", file=sys.stderr)
        bare.stop()
        gateway = queue_overhead.run_gateway(stack, database, args)
    finally:
        stack.stop()
    where = f"at {args.rate} jobs/s ({database}, {gateway.completed}/{jobs} completed)"
    complete = gateway.completed == jobs
    median = gateway.round_trip_p50 - floor.round_trip_p50
    return [
        Ratio(
            f"queue overhead p50 {where}",
            in_ms(gateway.round_trip_p50),
            in_ms(floor.round_trip_p50),
            gateway.round_trip_p50 / floor.round_trip_p50,
            "<= floor + 15 ms",
            complete and median <= 0.015,
        ),
        Ratio(
            f"queue overhead p99 {where}",
            in_ms(gateway.round_trip_p99),
            in_ms(floor.round_trip_p99),
            gateway.round_trip_p99 / floor.round_trip_p99,
            "<= 100 ms",
            complete and gateway.round_trip_p99 <= 0.100,
        ),
        Ratio(
            f"?wait answer after the job's end, p99 {where}",
            in_ms(gateway.gap_p99),
            in_ms(floor.gap_p99),
            gateway.gap_p99 / floor.gap_p99,
            "<= 10 ms",
            complete and gateway.gap_p99 <= 0.010,
        ),
    ]


def in_ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f} ms"


def at_most(
    measure: str, gateway: float, floor: float, bound: float, shown: Callable[[float], str]
) -> Ratio:
    ratio = gateway / floor
    return Ratio(measure, shown(gateway), shown(floor), ratio, f"<= {bound:g}x", ratio <= bound)


def at_least(
    measure: str, gateway: float, floor: float, bound: float, shown: Callable[[float], str]
) -> Ratio:
    ratio = gateway / floor
    return Ratio(measure, shown(gateway), shown(floor), ratio, f">= {bound:g}x", ratio >= bound)


@dataclass(frozen=True)
class Sizes:
    """How much each measure does: the full run's fits in 10 minutes on 2 cores."""

    chat_jobs: int = 150
    submits: int = 300
    slow_jobs: int = 2000
    load_seconds: int = 8
    queued_jobs: int = 1000


QUICK = Sizes(chat_jobs=40, submits=100, slow_jobs=300, load_seconds=3, queued_jobs=200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_option(parser)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the runner only")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    submit_throughput.require_load_tools()
    chosen = databases(args.database)
    main_database = chosen[0]
    sizes = QUICK if args.quick else Sizes()
    started = time.monotonic()
    notes: list[str] = []
    steps: list[tuple[str, Callable[[], list[Ratio]]]] = [
        ("worker CPU", lambda: worker_cpu(main_database, sizes.chat_jobs, notes)),
        ("API CPU", lambda: api_cpu(main_database, sizes.submits)),
        ("slow upstream", lambda: slow_upstream_ratios(main_database, sizes.slow_jobs)),
        *[
            (f"submit ({database})", lambda db=database: submit_ratios(db, sizes.load_seconds))
            for database in chosen
        ],
        ("queue overhead", lambda: queue_overhead_ratios(main_database, sizes.queued_jobs)),
    ]
    ratios: list[Ratio] = []
    for name, step in steps:
        print(f"[{time.monotonic() - started:5.0f} s] {name}", file=sys.stderr, flush=True)
        ratios += step()
    minutes = (time.monotonic() - started) / 60
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    print_table(
        f"The gateway against its floors, one run ({minutes:.1f} min, load average {load})",
        ["measure", "gateway", "floor", "ratio", "target", "met"],
        [ratio.row() for ratio in ratios],
    )
    for note in notes:
        print(note)
    met = sum(ratio.met for ratio in ratios)
    print(f"ratios: {met}/{len(ratios)} met")
    sys.exit(0 if met == len(ratios) else 1)


if __name__ == "__main__":
    main()
