"""Where a chat job's CPU goes: the worker's `runner.run_job` called in this process, one thread
(no Celery), on jobs submitted to a stack whose worker is stopped; the upstream answers at once.
Prints the CPU and SQL statements a job costs and, with --profile, cProfile's top functions by
cumulative time; then the CPU of the one step a job cannot skip, a response streamed through the
SDK's client (the worker's own) to its end, alone. Each line also gives what the offline upstream's
process spent serving it: on this machine the benchmarks' upstream takes cores a real one would
not.

    python -m bench.job_cpu [--jobs 200] [--database sqlite|postgresql] [--profile] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import os
from collections import Counter
from collections.abc import Callable

from sqlalchemy import update

from bench.bare_celery import stream_one_response
from bench.common import (
    PRODUCTION_SETTINGS,
    Cost,
    add_cpu_options,
    cost_each,
    databases,
    exit_cleanly_on_sigterm,
    job_timings,
    print_cost,
)
from bench.processes import cpu_spent
from tests.harness import Process, Stack

WARMUP = 20


def streamed_response() -> None:
    from shared.core.openai_client import get_openai_client
    from shared.core.settings import get_settings

    stream_one_response(get_openai_client(), get_settings().OPENAI_MODEL, "hi")


def measured_with_upstream(
    upstream: Process, measure: Callable[[], Cost], times: int
) -> tuple[Cost, str]:
    """`measure`'s cost, and a line saying what its `times` calls each cost the offline upstream's
    process."""
    with cpu_spent(upstream) as spent:
        cost = measure()
    [cpu] = spent
    each = cpu / times
    return cost, f"  serving them cost the offline upstream {each * 1000:.2f} ms CPU each"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    add_cpu_options(parser)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    [database] = databases(args.database)  # PostgreSQL needs TEST_DATABASE_URL
    stack = Stack(
        database=database,
        settings={**PRODUCTION_SETTINGS, "OFFLINE_OPENAI_LATENCY_MS": "0"},
    ).start()
    try:
        stack.processes["worker"].stop()
        stack.processes["beat"].stop()
        with stack.client() as api:
            job_ids = [
                api.post("/v1/chat", json={"message": f"job {n}", "user_id": f"user-{n % 5}"})
                .raise_for_status()
                .json()["id"]
                for n in range(WARMUP + args.jobs)
            ]
        # This process becomes a worker of the stack: its settings come from the environment.
        os.environ.clear()
        os.environ.update(stack.env())
        from shared.core.db import write_session
        from shared.core.models import Job
        from worker import runner

        with write_session() as session:  # every job claimable, as if its message arrived
            session.execute(update(Job).values(queue_state="sent"))
        for job_id in job_ids[:WARMUP]:
            runner.run_job(job_id)
        profile = cProfile.Profile() if args.profile else None
        measured = iter(job_ids[WARMUP:])
        upstream = stack.processes["upstream"]
        cost, upstream_line = measured_with_upstream(
            upstream,
            lambda: cost_each(lambda: runner.run_job(next(measured)), args.jobs, profile),
            args.jobs,
        )
        # A job this process did not run (say, settings read before the environment was set)
        # would make the figure meaningless.
        statuses = Counter(timing.status for timing in job_timings(stack.database_url))
        assert statuses == {"completed": WARMUP + args.jobs}, f"not every job ran: {statuses}"
        what = f"{args.jobs} chat jobs ({args.database})"
        print_cost(what, cost, profile, args.top, upstream_line)
        cost, upstream_line = measured_with_upstream(
            upstream, lambda: cost_each(streamed_response, args.jobs, None), args.jobs
        )
        what = f"{args.jobs} streamed responses alone (the SDK)"
        print_cost(what, cost, None, args.top, upstream_line)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
