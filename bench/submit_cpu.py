"""Where the API's CPU for a job goes: `POST /v1/chat` through Flask's test client in this process
(no gunicorn, no network to the API) against a stack whose worker and beat are stopped. Prints the
CPU and SQL statements a submit costs and, with --profile, cProfile's top functions by cumulative
time; then what a client's `GET /v1/jobs/{id}?wait=30` costs once its job has finished (the jobs
marked completed in the database, their status events in Redis), not profiled; then the submit
floor's request (bench/floor_submit_app.py: the job's row committed, a task enqueued) through
the same test client.

    python -m bench.submit_cpu [--submits 500] [--database sqlite|postgresql] [--profile] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import tempfile
import time
from dataclasses import dataclass

from sqlalchemy import select, update

from bench.common import (
    PRODUCTION_SETTINGS,
    Cost,
    add_cpu_options,
    cost_each,
    databases,
    exit_cleanly_on_sigterm,
    print_cost,
)
from shared.core.clock import utcnow
from tests.harness import Stack

WARMUP = 50
BODY = {"message": "hi", "user_id": "bench"}


@dataclass(frozen=True)
class ApiCpu:
    """The API's CPU for a job, against the submit floor's for a request."""

    submit: Cost
    finished_read: Cost  # the `?wait` read that returns the finished job
    floor: Cost  # one request to the submit floor

    @property
    def job(self) -> float:
        return self.submit.cpu + self.finished_read.cpu


def finish_every_job() -> list[str]:
    """Every job completed as a worker leaves it (the row's result, then its status event); their
    ids."""
    from shared.core.db import write_session
    from shared.core.models import Job
    from shared.jobs import events

    with write_session() as session:
        job_ids = list(session.scalars(select(Job.id)))
        session.execute(
            update(Job).values(
                status="completed",
                queue_state=None,
                started_at=utcnow(),
                finished_at=utcnow(),
                result={"response_id": "resp_bench", "output_text": "hi", "output": []},
            )
        )
    for job_id in job_ids:
        events.publish(job_id, "status", {"status": "completed"}, final=True)
    return job_ids


def measure(database: str, submits: int, profile: cProfile.Profile | None = None) -> ApiCpu:
    """`submits` submits (under `profile` if given), as many `?wait` reads of finished jobs, and
    as many requests to the submit floor, in this process, which serves the API of a stack of its
    own."""
    stack = Stack(database=database, settings=PRODUCTION_SETTINGS).start()
    try:
        stack.processes["worker"].stop()
        stack.processes["beat"].stop()
        # This process serves the API: its settings come from the stack's environment.
        os.environ.clear()
        os.environ.update(stack.env(), PROMETHEUS_MULTIPROC_DIR=tempfile.mkdtemp())
        from api import create_app

        client = create_app().test_client()
        headers = {"Authorization": f"Bearer {stack.token}"}

        def submit() -> None:
            response = client.post("/v1/chat", json=BODY, headers=headers)
            assert response.status_code == 202, response.get_json()

        for _ in range(WARMUP):
            submit()
        submit_cost = cost_each(submit, submits, profile)
        job_ids = iter(finish_every_job())

        def read_finished() -> None:
            job_id = next(job_ids)
            answer = client.get(f"/v1/jobs/{job_id}?wait=30&user_id=bench", headers=headers)
            assert answer.get_json()["status"] == "completed", answer.get_json()

        for _ in range(WARMUP):
            read_finished()
        read_cost = cost_each(read_finished, submits)
        floor_cost = floor_request_cost(stack, submits)
    finally:
        stack.stop()
    return ApiCpu(submit_cost, read_cost, floor_cost)


def floor_request_cost(stack: Stack, requests: int) -> Cost:
    """One request to the submit floor's app, through its own test client in this process (the
    environment already the stack's: the app reads its database and broker from it)."""
    from bench.bare_celery import app as bare_celery
    from bench.floor_submit_app import app, create_table

    # The bare Celery app read REDIS_URL when first imported, maybe before this process took
    # the stack's environment: its tasks go to the stack's Redis.
    bare_celery.conf.broker_url = stack.redis_url
    create_table(stack.database_url)
    client = app.test_client()

    def request() -> None:
        response = client.post("/v1/chat", json=BODY)
        assert response.status_code == 202, response.get_json()

    for _ in range(WARMUP):
        request()
    return cost_each(request, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=500)
    add_cpu_options(parser)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    [database] = databases(args.database)  # PostgreSQL needs TEST_DATABASE_URL
    profile = cProfile.Profile(time.process_time) if args.profile else None
    cpu = measure(database, args.submits, profile)
    print_cost(f"{args.submits} submits ({database})", cpu.submit, profile, args.top)
    print_cost(f"{args.submits} ?wait reads of a finished job", cpu.finished_read, None, args.top)
    print_cost(f"floor: {args.submits} requests to the submit floor", cpu.floor, None, args.top)


if __name__ == "__main__":
    main()
