"""Where the API's CPU for a job goes: `POST /v1/chat` through Flask's test client in this process
(no gunicorn, no network to the API) against a stack whose worker and beat are stopped. Prints the
CPU and SQL statements a submit costs and, with --profile, cProfile's top functions by cumulative
time; then what a client's `GET /v1/jobs/{id}?wait=30` costs once its job has finished (the jobs
marked completed in the database, their status events in Redis), not profiled.

    python -m bench.submit_cpu [--submits 500] [--database sqlite|postgresql] [--profile] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import tempfile

from sqlalchemy import select, update

from bench.common import (
    PRODUCTION_SETTINGS,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=500)
    add_cpu_options(parser)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    [database] = databases(args.database)  # PostgreSQL needs TEST_DATABASE_URL
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
        profile = cProfile.Profile() if args.profile else None
        cost = cost_each(submit, args.submits, profile)
        print_cost(f"{args.submits} submits ({args.database})", cost, profile, args.top)
        job_ids = iter(finish_every_job())

        def read_finished() -> None:
            job_id = next(job_ids)
            answer = client.get(f"/v1/jobs/{job_id}?wait=30&user_id=bench", headers=headers)
            assert answer.get_json()["status"] == "completed", answer.get_json()

        for _ in range(WARMUP):
            read_finished()
        cost = cost_each(read_finished, args.submits, None)
        print_cost(f"{args.submits} ?wait reads of a finished job", cost, None, args.top)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
