"""The server tools a caller may name: their definitions as the model sees them, no code."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

JsonSchema = dict[str, Any]


@dataclass(frozen=True)
class ServerTool:
    """One tool the worker runs itself; every property is required, as strict mode wants."""

    name: str
    description: str
    properties: Mapping[str, JsonSchema]

    @property
    def parameters(self) -> JsonSchema:
        return {
            "type": "object",
            "properties": copy.deepcopy(dict(self.properties)),
            "required": list(self.properties),
            "additionalProperties": False,
        }


_TOOLS = (
    ServerTool(
        name="get_weather",
        description=(
            "Get the current weather in a city: temperature in °C, wind speed in km/h and "
            "conditions (clear, cloudy, rain, snow…)."
        ),
        properties={
            "city": {
                "type": "string",
                "description": "The city, optionally with its country, e.g. 'Paris' or "
                "'Portland, Oregon'.",
            }
        },
    ),
    ServerTool(
        name="get_time",
        description="Get the current local date and time, weekday and UTC offset in a time zone.",
        properties={
            "timezone": {
                "type": "string",
                "description": "An IANA time zone name, e.g. 'Europe/Paris', 'America/New_York' "
                "or 'UTC'.",
            }
        },
    ),
    ServerTool(
        name="calculate",
        description=(
            "Calculate the exact value of an arithmetic expression with numbers, + - * / // % "
            "** (or ^) and parentheses."
        ),
        properties={
            "expression": {
                "type": "string",
                "description": "The expression, e.g. '12 * (3 + 4) / 2'; at most 200 characters.",
            }
        },
    ),
)

SERVER_TOOLS: Mapping[str, ServerTool] = MappingProxyType({tool.name: tool for tool in _TOOLS})
SERVER_TOOL_NAMES: frozenset[str] = frozenset(SERVER_TOOLS)


def function_tool(name: str) -> dict[str, Any]:
    """The Responses API function tool for the server tool `name` (a fresh dict each call)."""
    try:
        tool = SERVER_TOOLS[name]
    except KeyError:
        known = ", ".join(sorted(SERVER_TOOL_NAMES))
        raise KeyError(f"no server tool named {name!r}; known: {known}") from None
    return {
        "type": "function",
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters,
        "strict": True,
    }
