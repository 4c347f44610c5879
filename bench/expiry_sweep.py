"""Conversation expiry at scale: 1,000,000 active conversations, 10% idle past the TTL. How long
does expire_idle_conversations() take, and does its memory stay flat? The sweep runs in a
subprocess of its own (its peak RSS is its ru_maxrss; its RSS just before the sweep, after
imports and a first connection, shows what the sweep itself added), then once more with nothing
left to expire (what beat pays every minute).

    python -m bench.expiry_sweep [--count 1000000] [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.common import add_database_option, databases, exit_cleanly_on_sigterm, mib, print_table
from bench.processes import clean_env
from shared.core.ids import new_id
from shared.core.settings import load_settings
from tests.harness import ROOT, VENV_BIN, fresh_postgres_database

USERS = 1000
COLUMNS = ("id", "user_id", "upstream_id", "status", "metadata", "jobs_submitted")
TIMES = ("created_at", "last_active_at")
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how shared.core.models.UTCDateTime stores times in SQLite


def conversations(count: int, expired_every: int) -> Iterator[tuple[Any, ...]]:
    """Rows in creation order; every `expired_every`-th one idle for longer than the TTL."""
    now = datetime.now(UTC)
    ttl = timedelta(seconds=load_settings({}).conversation_ttl_seconds)
    for index in range(count):
        if index % expired_every == 0:
            last_active = now - ttl - timedelta(minutes=1 + index % 2880)
        else:
            last_active = now - timedelta(seconds=index % int(ttl.total_seconds() / 2))
        yield (
            new_id("conv"),
            f"user-{index % USERS}",
            f"conv_{index:048x}",
            "active",
            "{}",
            1,
            last_active - timedelta(minutes=5),
            last_active,
        )


def fill_sqlite(url: str, count: int, expired_every: int) -> None:
    connection = sqlite3.connect(make_url(url).database or "")
    users = [
        (f"user-{i}", f"user-{i}", 1, datetime.now(UTC).strftime(SQLITE_TIME)) for i in range(USERS)
    ]
    rows = (
        (*row[:6], row[6].strftime(SQLITE_TIME), row[7].strftime(SQLITE_TIME))
        for row in conversations(count, expired_every)
    )
    names = ", ".join(COLUMNS + TIMES)
    with connection:  # one transaction
        connection.executemany(
            "INSERT INTO users (id, name, weight, created_at) VALUES (?, ?, ?, ?)", users
        )
        connection.executemany(
            f"INSERT INTO conversations ({names}) VALUES ({', '.join('?' * 8)})", rows
        )
    connection.close()


def fill_postgresql(url: str, count: int, expired_every: int) -> None:
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as connection, connection.cursor() as cursor:
        with cursor.copy("COPY users (id, name, weight, created_at) FROM STDIN") as copy:
            for i in range(USERS):
                copy.write_row((f"user-{i}", f"user-{i}", 1, datetime.now(UTC)))
        names = ", ".join(COLUMNS + TIMES)
        with cursor.copy(f"COPY conversations ({names}) FROM STDIN") as copy:
            for row in conversations(count, expired_every):
                copy.write_row(row)
        connection.commit()
        cursor.execute("ANALYZE conversations")  # as autovacuum would have, in a real database


def sweep_in_subprocess(env: dict[str, str]) -> dict[str, float]:
    """Run the sweep in a child; answer its report plus its peak RSS (ru_maxrss) in bytes."""
    child = subprocess.Popen(
        [str(VENV_BIN / "python"), "-m", "bench.expiry_sweep", "--sweep-here"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"the sweep failed (exit {child.returncode})")
    report: dict[str, float] = json.loads(output)
    report["peak_rss"] = usage.ru_maxrss * 1024  # kilobytes on Linux
    return report


def sweep_here() -> None:
    """The child: connect, note RSS, sweep, print what happened as JSON."""
    from shared.conversations.expiry import expire_idle_conversations
    from shared.core.db import get_engine

    with get_engine().connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    rss_before = resident_bytes()
    started = time.perf_counter()
    expired = expire_idle_conversations()
    seconds = time.perf_counter() - started
    print(json.dumps({"expired": expired, "seconds": seconds, "rss_before": rss_before}))


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def run(database: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    drop: Callable[[], None] | None = None
    if database == "postgresql":
        url, drop = fresh_postgres_database(os.environ["TEST_DATABASE_URL"])
    else:
        url = f"sqlite:///{workdir / 'sweep.db'}"
    env = clean_env()
    env.update(DATABASE_URL=url, DOTENV_PATH=str(workdir / "no.env"), LOG_LEVEL="WARNING")
    try:
        subprocess.run(
            [str(VENV_BIN / "python"), "-m", "shared.core.migrate"], env=env, cwd=ROOT, check=True
        )
        started = time.perf_counter()
        fill = fill_postgresql if database == "postgresql" else fill_sqlite
        fill(url, args.count, args.expired_every)
        filled = time.perf_counter() - started
        print(f"{database}: {args.count} conversations in {filled:.0f} s", file=sys.stderr)
        first = sweep_in_subprocess(env)
        again = sweep_in_subprocess(env)
    finally:
        if drop:
            drop()
    expected = len(range(0, args.count, args.expired_every))
    return [
        database,
        f"{args.count:,}",
        f"{int(first['expired']):,}" + ("" if first["expired"] == expected else " (!)"),
        f"{first['seconds']:.2f} s",
        mib(first["rss_before"]),
        mib(first["peak_rss"]),
        mib(first["peak_rss"] - first["rss_before"]),
        f"{again['seconds'] * 1000:.0f} ms",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="conversations")
    parser.add_argument("--expired-every", type=int, default=10, help="1 in N is past the TTL")
    parser.add_argument("--sweep-here", action="store_true", help=argparse.SUPPRESS)
    add_database_option(parser)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    if args.sweep_here:
        sweep_here()
        return
    rows = []
    for database in databases(args.database):
        with tempfile.TemporaryDirectory(prefix="bench-sweep-") as workdir:
            rows.append(run(database, args, Path(workdir)))
    print_table(
        f"Expiry sweep: {args.count:,} active conversations, 1 in {args.expired_every} past "
        "the TTL (targets: <= 10 s, memory flat)",
        [
            "database",
            "conversations",
            "expired",
            "sweep",
            "RSS before",
            "peak RSS",
            "growth",
            "re-run, nothing due",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
