"""Command line: `python -m offline_openai [--host H] [--port N]` serves the offline upstream."""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from flask import Flask
from gunicorn.app.base import BaseApplication

from offline_openai.app import create_app
from offline_openai.config import ConfigError, OfflineConfig, port_from_env
from offline_openai.state_file import StateFile

# Bursts of 1,000+ clients connect at once; the default backlog of 128 would drop some.
LISTEN_BACKLOG = 4096
# A thread per request in progress: a streamed response holds one for its whole latency, and the
# benchmarks keep 500+ of those open at once.
THREADS = 2048


class OfflineServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn with one process of threads: the state lives in that process's memory, and, like
    OpenAI's servers, it keeps connections alive between requests (werkzeug's development server
    closes each one, so every call would pay for a new connection)."""

    def __init__(
        self, make_app: Callable[[], Flask], listener: socket.socket, access_log: bool
    ) -> None:
        # The app is made in the worker process, after the fork: its state file's connection and
        # the threads carrying on unfinished responses must live where requests are served.
        self.make_app = make_app
        self.settings = {
            "bind": [f"fd://{listener.fileno()}"],
            "workers": 1,
            "worker_class": "gthread",
            "threads": THREADS,
            "worker_connections": 4 * THREADS,
            "keepalive": 75,
            # A restarted worker would start with none of the state and the live config the
            # tests and benchmarks set: never kill the one worker for being slow to check in
            # (gunicorn's 30 s default), as a starved machine can make it.
            "timeout": 0,
            "graceful_timeout": 2,
            "backlog": LISTEN_BACKLOG,
            "accesslog": "/dev/stderr" if access_log else None,
            "errorlog": "-",
            "loglevel": "warning",
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.make_app()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)


def _check_state_file(path: str | None) -> None:
    """Fail at start, with the reason, if the state file can't be made or read."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        StateFile(path).close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline_openai", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=None, help="default: $OFFLINE_OPENAI_PORT or 8089"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request to stderr")
    parser.add_argument(
        "--state",
        default=os.environ.get("OFFLINE_OPENAI_STATE") or None,
        help="SQLite file that keeps conversations, responses and files across restarts "
        "(default: $OFFLINE_OPENAI_STATE; none: in memory only)",
    )
    args = parser.parse_args(argv)
    try:
        config = OfflineConfig.from_env(os.environ)
        port = args.port if args.port is not None else port_from_env(os.environ)
    except ConfigError as exc:
        print(f"offline_openai: {exc}", file=sys.stderr)
        return 2
    try:
        listener = _listen(args.host, port)
    except OSError as exc:
        print(f"offline_openai: cannot listen on {args.host}:{port}: {exc}", file=sys.stderr)
        return 1
    try:
        _check_state_file(args.state)
    except (OSError, sqlite3.Error) as exc:
        print(f"offline_openai: cannot open the state file {args.state}: {exc}", file=sys.stderr)
        return 1
    bound = listener.getsockname()[1]
    print(f"offline_openai listening on http://{args.host}:{bound}", flush=True)
    print(f"offline_openai keeps its state in {args.state or 'memory only'}", flush=True)
    OfflineServer(partial(create_app, config, args.state), listener, args.access_log).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
