"""What a server tool hands back to the model, and the one error a tool raises to fail."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class ToolError(Exception):
    """A failure the model (and the person behind it) can act on; the message says how."""


@dataclass(frozen=True)
class ToolResult:
    """`output` is the JSON string sent back as the function_call_output's output."""

    output: str
    ok: bool

    @classmethod
    def success(cls, payload: dict[str, Any]) -> ToolResult:
        return cls(output=json.dumps(payload, ensure_ascii=False), ok=True)

    @classmethod
    def failure(cls, message: str) -> ToolResult:
        return cls(output=json.dumps({"error": message}, ensure_ascii=False), ok=False)
