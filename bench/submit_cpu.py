"""Where a submit's CPU goes: `POST /v1/chat` through Flask's test client in this process (no
gunicorn, no network to the API) against a stack whose worker and beat are stopped. Prints the
CPU a submit costs and, with --profile, cProfile's top functions by cumulative time.

    python -m bench.submit_cpu [--submits 500] [--database sqlite|postgresql] [--profile] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time

from bench.common import PRODUCTION_SETTINGS, databases, exit_cleanly_on_sigterm
from tests.harness import Stack

WARMUP = 50
BODY = {"message": "hi", "user_id": "bench"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=500)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--profile", action="store_true", help="list where the time goes")
    parser.add_argument("--top", type=int, default=40, help="functions to list")
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
        profile = cProfile.Profile()
        started = time.process_time()
        if args.profile:
            profile.enable()
        for _ in range(args.submits):
            submit()
        profile.disable()
        cpu = (time.process_time() - started) / args.submits
        how = "profiled" if args.profile else "not profiled"
        print(f"{args.submits} submits ({args.database}): {cpu * 1000:.2f} ms CPU each, {how}")
        if args.profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
