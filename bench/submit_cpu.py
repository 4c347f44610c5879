"""Where a submit's CPU goes: `POST /v1/chat` through Flask's test client in this process (no
gunicorn, no network to the API) against a stack whose worker and beat are stopped. Prints the
CPU and SQL statements a submit costs and, with --profile, cProfile's top functions by cumulative
time.

    python -m bench.submit_cpu [--submits 500] [--database sqlite|postgresql] [--profile] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import tempfile

from bench.common import (
    PRODUCTION_SETTINGS,
    add_cpu_options,
    cost_each,
    databases,
    exit_cleanly_on_sigterm,
    print_cost,
)
from tests.harness import Stack

WARMUP = 50
BODY = {"message": "hi", "user_id": "bench"}


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
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
