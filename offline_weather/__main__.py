"""Command line: `python -m offline_weather [--host H] [--port N]` serves the weather stand-in."""

from __future__ import annotations

import argparse
import sys

from offline_weather.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline_weather", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port)
    except OSError as exc:
        print(f"offline_weather: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
