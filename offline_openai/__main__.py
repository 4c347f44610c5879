"""Command line: `python -m offline_openai [--host H] [--port N]` serves the offline upstream."""

from __future__ import annotations

import argparse
import os
import socket
import sys

from werkzeug.serving import WSGIRequestHandler, make_server

from offline_openai.app import create_app
from offline_openai.config import ConfigError, OfflineConfig, port_from_env

# Bursts of 1,000+ clients connect at once; the default backlog of 128 would drop some.
LISTEN_BACKLOG = 4096


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without one log line per request (benchmarks send many)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline_openai", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=None, help="default: $OFFLINE_OPENAI_PORT or 8089"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        config = OfflineConfig.from_env(os.environ)
        port = args.port if args.port is not None else port_from_env(os.environ)
    except ConfigError as exc:
        print(f"offline_openai: {exc}", file=sys.stderr)
        return 2
    handler = WSGIRequestHandler if args.access_log else QuietRequestHandler
    try:
        listener = _listen(args.host, port)
    except OSError as exc:
        print(f"offline_openai: cannot listen on {args.host}:{port}: {exc}", file=sys.stderr)
        return 1
    server = make_server(
        args.host,
        port,
        create_app(config),
        threaded=True,
        request_handler=handler,
        fd=listener.fileno(),
    )
    listener.close()  # werkzeug works on its own duplicate of the descriptor
    print(f"offline_openai listening on http://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
