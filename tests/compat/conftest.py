"""Keeps the compat chain out of `make test`: nothing here is collected unless COMPAT_CHAIN=1,
which only `make test-compat` sets (the chain needs `.venv-compat/` and minutes to build)."""

from __future__ import annotations

import os

collect_ignore_glob: list[str] = [] if os.environ.get("COMPAT_CHAIN") == "1" else ["*.py"]
