"""The one entry point: check a call's arguments against the catalog, run the tool, never raise."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from shared.core import metrics
from shared.jobs.tool_catalog import SERVER_TOOL_NAMES, SERVER_TOOLS
from worker.tools.arithmetic import calculate
from worker.tools.results import ToolError, ToolResult
from worker.tools.weather import get_weather
from worker.tools.world_clock import get_time

log = logging.getLogger(__name__)

ToolFunction = Callable[..., dict[str, Any]]

TOOL_FUNCTIONS: Mapping[str, ToolFunction] = MappingProxyType(
    {"get_weather": get_weather, "get_time": get_time, "calculate": calculate}
)


def run_server_tool(name: str, arguments_json: str) -> ToolResult:
    """Run the server tool `name` with the model's JSON arguments; failures come back ok=False."""
    result = _run(name, arguments_json)
    metrics.count_tool_call(name, result.ok)
    return result


def _run(name: str, arguments_json: str) -> ToolResult:
    function = TOOL_FUNCTIONS.get(name)
    if function is None or name not in SERVER_TOOL_NAMES:
        known = ", ".join(sorted(SERVER_TOOL_NAMES))
        return ToolResult.failure(f"there is no server tool named {name!r}; known: {known}")
    try:
        arguments = parse_arguments(name, arguments_json)
        return ToolResult.success(function(**arguments))
    except ToolError as exc:
        log.info("server tool %s failed: %s", name, exc)
        return ToolResult.failure(str(exc))
    except Exception:
        # A bug in one tool must not fail the whole job: the model gets told, the log keeps it.
        log.exception("server tool %s crashed", name)
        return ToolResult.failure(f"{name} failed unexpectedly; try again or answer without it")


def parse_arguments(name: str, arguments_json: str) -> dict[str, Any]:
    try:
        arguments = json.loads(arguments_json)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"the arguments for {name} are not valid JSON ({exc})") from None
    error = best_match(Draft202012Validator(SERVER_TOOLS[name].parameters).iter_errors(arguments))
    if error is not None:
        where = "".join(f" {part}:" for part in error.absolute_path)
        expected = ", ".join(SERVER_TOOLS[name].properties)
        raise ToolError(
            f"invalid arguments for {name}:{where} {error.message} ({name} takes exactly: "
            f"{expected})"
        )
    if not isinstance(arguments, dict):  # the schema already says so; this tells mypy
        raise ToolError(f"the arguments for {name} must be a JSON object")
    return arguments
