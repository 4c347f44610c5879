"""Flower, Celery's monitor, never without credentials: `python -m worker.flower`.

Flower reads FLOWER_BASIC_AUTH and FLOWER_PORT from the environment itself; this passes on the
validated settings (from `.env` too) and refuses to start an open monitor.
"""

from __future__ import annotations

import os
import sys

from shared.core.settings import get_settings


def main() -> None:
    settings = get_settings()
    if not settings.FLOWER_BASIC_AUTH:
        raise SystemExit("set FLOWER_BASIC_AUTH=user:password (in .env or the environment) first")
    os.environ["FLOWER_BASIC_AUTH"] = settings.FLOWER_BASIC_AUTH
    os.environ["FLOWER_PORT"] = str(settings.FLOWER_PORT)
    os.execv(sys.executable, [sys.executable, "-m", "celery", "-A", "worker", "flower"])


if __name__ == "__main__":
    main()
