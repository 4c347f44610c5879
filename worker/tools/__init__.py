"""Server tools: the Python functions the worker runs when the model calls them."""

from __future__ import annotations

from worker.tools.registry import TOOL_FUNCTIONS, run_server_tool
from worker.tools.results import ToolError, ToolResult

__all__ = ["TOOL_FUNCTIONS", "ToolError", "ToolResult", "run_server_tool"]
