"""Shared pytest setup: the repository root on sys.path for `tests.harness`, and how `make test`
shares the tests between its two processes (pytest-xdist)."""

from __future__ import annotations

import re
from typing import Any

DATABASE_PARAM = re.compile(r"\[(?:.*-)?(sqlite|postgresql)(?:-.*)?\]$")


def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
    """Tests on one database's stacks run in one process, in pytest's order, so each of those
    stacks boots once; any other test goes with its module (and its module's stack)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByStack(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            database = DATABASE_PARAM.search(nodeid)
            return database[1] if database else nodeid.split("::")[0]

    return ByStack(config, log)
