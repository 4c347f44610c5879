"""Submit throughput and latency: authenticated `POST /v1/chat` with the worker stopped, under
the production gunicorn settings, beside a bare Flask app that only enqueues a no-op Celery task
and the floor: the bare app that first commits the job's row (bench/floor_submit_app.py).

Each target takes two loads, each from its own process: saturation (`wrk -t2 -c32 -d10s`) and a
fixed rate (`hey -z 10s -c 16 -q 60`, about 960 requests/s).

    python -m bench.submit_throughput [--seconds 10] [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    PRODUCTION_SETTINGS,
    add_database_option,
    databases,
    exit_cleanly_on_sigterm,
    print_table,
)
from bench.floor_submit_app import create_table
from bench.processes import PRODUCT_GUNICORN, gunicorn, serve_product_api
from bench.wrk import Saturation, wrk
from tests.harness import Stack

BODY = json.dumps({"message": "hi", "user_id": "bench"})
BARE_APP = "bench.bare_submit_app:app"
FLOOR_APP = "bench.floor_submit_app:app"
# The bare app under the product's gunicorn settings, then under the two usual best settings.
BARE_SETTINGS = [
    ("bare (product gunicorn settings)", PRODUCT_GUNICORN),
    ("bare (sync, 5 workers)", ["-w", "5"]),
    ("bare (gthread, 2 x 16 threads)", ["-w", "2", "-k", "gthread", "--threads", "16"]),
]
# The floor under the product's settings and the bare app's best usual one.
FLOOR_SETTINGS = [
    ("product gunicorn settings", PRODUCT_GUNICORN),
    ("sync, 5 workers", ["-w", "5"]),
]


@dataclass(frozen=True)
class FixedRate:
    rate: float
    p50: float
    p99: float
    codes: dict[str, int]
    errors: int


def saturate(url: str, token: str, args: argparse.Namespace, workdir: Path) -> Saturation:
    return wrk(
        f"{url}/v1/chat",
        BODY,
        token,
        threads=args.wrk_threads,
        connections=args.wrk_connections,
        seconds=args.seconds,
        workdir=workdir,
    )


def fixed_rate(url: str, token: str, args: argparse.Namespace) -> FixedRate:
    """hey's `args.hey_clients` clients, each sending `args.hey_rate_per_client` requests a
    second at most, waiting for each answer."""
    done = subprocess.run(
        [
            "hey",
            "-z",
            f"{args.seconds}s",
            "-c",
            str(args.hey_clients),
            "-q",
            str(args.hey_rate_per_client),
            "-m",
            "POST",
            "-T",
            "application/json",
            "-H",
            f"Authorization: Bearer {token}",
            "-d",
            BODY,
            f"{url}/v1/chat",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_hey(done.stdout)


def parse_hey(report: str) -> FixedRate:
    total = float(re.search(r"Total:\s+([\d.]+) secs", report).group(1))  # type: ignore[union-attr]
    latencies = dict(re.findall(r"(\d+)% in ([\d.]+) secs", report))
    codes_part = report.split("Status code distribution:")[-1].split("Error distribution:")[0]
    codes = {code: int(count) for code, count in re.findall(r"\[(\d+)\]\s+(\d+) resp", codes_part)}
    errors_part = report.split("Error distribution:")[1] if "Error distribution:" in report else ""
    errors = sum(int(count) for count in re.findall(r"\[(\d+)\]", errors_part))
    ok = sum(count for code, count in codes.items() if code.startswith("2"))
    return FixedRate(
        rate=ok / total,
        p50=float(latencies.get("50", "nan")),
        p99=float(latencies.get("99", "nan")),
        codes=codes,
        errors=errors,
    )


def _by_status(failed: dict[int, int]) -> str:
    return f" ({' '.join(f'{code}x{n}' for code, n in sorted(failed.items()))})" if failed else ""


def measure(url: str, token: str, args: argparse.Namespace, workdir: Path) -> list[str | float]:
    saturation = saturate(url, token, args, workdir)
    fixed = fixed_rate(url, token, args)
    codes = " ".join(f"{code}x{count}" for code, count in sorted(fixed.codes.items()))
    if fixed.errors:
        codes += f" errors x{fixed.errors}"
    return [
        saturation.rate,
        f"{saturation.non_2xx}{_by_status(saturation.failed)} / {saturation.socket_errors}",
        f"{saturation.p50 * 1000:.1f} / {saturation.p99 * 1000:.1f} ms",
        f"{fixed.rate:.0f}",
        f"{fixed.p50 * 1000:.1f} ms",
        f"{fixed.p99 * 1000:.1f} ms",
        codes or "-",
    ]


@contextmanager
def product_submits(database: str) -> Iterator[Stack]:
    """A started stack whose API serves under the production gunicorn settings, with nothing
    running the jobs: the submit path alone (its dispatch pass stops sending at
    BROKER_MAX_PENDING and then only counts)."""
    stack = Stack(database=database, settings=PRODUCTION_SETTINGS).start()
    try:
        stack.processes["worker"].stop()
        stack.processes["beat"].stop()
        serve_product_api(stack)
        yield stack
    finally:
        stack.stop()


@contextmanager
def served_beside(stack: Stack, label: str, app: str, options: list[str]) -> Iterator[str]:
    """The bare or floor `app` under gunicorn `options` on the stack's database and Redis; yields
    its URL."""
    # Its own metrics directory: the product's gunicorn config empties it at start.
    env = {**stack.env(), "API_METRICS_DIR": str(stack.workdir / "bare-metrics")}
    if app == FLOOR_APP:
        create_table(stack.database_url)
    with gunicorn(label, app, options, env, stack.workdir) as (_, url):
        yield url


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each load")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--wrk-connections", type=int, default=32)
    parser.add_argument("--hey-clients", type=int, default=16)
    parser.add_argument("--hey-rate-per-client", type=float, default=60)
    add_database_option(parser)
    return parser


def require_load_tools() -> None:
    for tool in ("wrk", "hey"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: install it with 'sudo apt-get install wrk hey'")


def main() -> None:
    args = parser().parse_args()
    exit_cleanly_on_sigterm()
    require_load_tools()
    rows: list[list[str | float]] = []
    bare_rows: list[list[str | float]] = []
    for database in databases(args.database):
        with product_submits(database) as stack:
            rows.append(
                [f"product ({database})", *measure(stack.api_url, stack.token, args, stack.workdir)]
            )
            for setting, options in FLOOR_SETTINGS:
                label = f"floor: bare + job row ({database}, {setting})"
                with served_beside(stack, label, FLOOR_APP, options) as url:
                    rows.append([label, *measure(url, stack.token, args, stack.workdir)])
            if not bare_rows:
                for label, options in BARE_SETTINGS:
                    with served_beside(stack, label, BARE_APP, options) as url:
                        bare_rows.append([label, *measure(url, stack.token, args, stack.workdir)])
    best_bare = max(float(row[1]) for row in bare_rows)
    table = [
        [
            str(row[0]),
            f"{float(row[1]):.0f}",
            f"{float(row[1]) / best_bare:.2f}x",
            *map(str, row[2:]),
        ]
        for row in rows + bare_rows
    ]
    print_table(
        f"Submit: POST /v1/chat, worker stopped; saturation wrk -t{args.wrk_threads} "
        f"-c{args.wrk_connections} -d{args.seconds}s, fixed rate hey -c {args.hey_clients} "
        f"-q {args.hey_rate_per_client:g} -z {args.seconds}s "
        f"(targets: saturation >= 0.7x the best bare, fixed rate all 202, p99 <= 50 ms)",
        [
            "target",
            "saturation req/s",
            "ratio to best bare",
            "non-2xx / socket errors",
            "saturation p50 / p99",
            "fixed-rate req/s",
            "fixed p50",
            "fixed p99",
            "fixed-rate codes",
        ],
        table,
    )


if __name__ == "__main__":
    main()
