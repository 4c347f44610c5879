"""Function-tool calling: which tool a message asks for, and arguments filled from its schema."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from offline_openai.ids import call_id, hex_id
from offline_openai.schema_fill import NO_HINT, fill
from offline_openai.words import content_words

Tool = dict[str, Any]

# (intent, words in the message that ask for it, words in a tool's name/description that serve it)
_INTENTS = (
    ("weather", re.compile(r"\b(weather|temperature|forecast)\b", re.I), ("weather",)),
    ("time", re.compile(r"\b(time|clock)\b", re.I), ("time",)),
    (
        "arithmetic",
        re.compile(r"\b(calculate|compute)\b", re.I),
        ("calculat", "math", "arithmetic"),
    ),
)
_EXPRESSION = re.compile(r"[\d(][\d\s.()+\-*/%^]*[\d)]")
_OPERATOR = re.compile(r"\d\s*\)*\s*[+\-*/%^]\s*\(*\s*[\d.]")
_IANA_ZONE = re.compile(r"\b(?:[A-Z][A-Za-z_]+/)+[A-Z][A-Za-z_+\-]*[A-Za-z]\b|\bUTC\b")
_PLACE = re.compile(r"\bin\s+((?:[A-Za-z][\w.'\-]*)(?:\s+[A-Z][\w.'\-]*)*)")
_STOP_WORDS = {"the", "a", "an", "my", "your", "this", "that"}
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_IDENTIFIER_NAME = re.compile(r"(?:^|_)(?:id|number|num|no|code|ref|reference)$|Id$|Number$")


@dataclass(frozen=True)
class Request:
    """What the model knows when deciding on function calls."""

    text: str
    tools: list[Tool]
    tool_choice: Any
    parallel: bool


def plan_calls(request: Request) -> list[dict[str, Any]]:
    """The function_call items the model makes for this message (possibly none)."""
    choice = request.tool_choice
    if choice == "none":
        return []
    functions = [tool for tool in request.tools if tool.get("type") == "function"]
    forced_required = choice == "required"
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = {t.get("name") for t in choice.get("tools", []) if isinstance(t, dict)}
        functions = [tool for tool in functions if tool.get("name") in allowed]
        forced_required = choice.get("mode") == "required"
    if isinstance(choice, dict) and choice.get("type") == "function":
        chosen = [tool for tool in functions if tool.get("name") == choice.get("name")]
    else:
        chosen = _matching_tools(request.text, functions)
        if not chosen and forced_required and functions:
            chosen = functions[:1]
    if not request.parallel:
        chosen = chosen[:1]
    return [_call_item(tool, request.text) for tool in chosen]


def _matching_tools(text: str, functions: list[Tool]) -> list[Tool]:
    """The tools the message's intents ask for (weather, time, arithmetic); failing those, the
    tools that share a content word with the message in their name or description."""
    chosen = _intent_tools(text, functions)
    if chosen:
        return chosen
    asked = content_words(text)
    return [
        tool
        for tool in functions
        if asked & content_words(f"{tool.get('name', '')} {tool.get('description') or ''}")
    ]


def _intent_tools(text: str, functions: list[Tool]) -> list[Tool]:
    chosen: list[Tool] = []
    for intent, asks, serves in _INTENTS:
        if not (asks.search(text) or (intent == "arithmetic" and find_expression(text))):
            continue
        for tool in functions:
            label = f"{tool.get('name', '')} {tool.get('description') or ''}".lower()
            if any(word in label for word in serves) and tool not in chosen:
                chosen.append(tool)
                break
    return chosen


def _call_item(tool: Tool, text: str) -> dict[str, Any]:
    return {
        "id": hex_id("fc"),
        "type": "function_call",
        "status": "completed",
        "arguments": json.dumps(tool_arguments(tool.get("parameters"), text)),
        "call_id": call_id(),
        "name": tool.get("name", ""),
    }


def tool_arguments(parameters: Any, text: str) -> Any:
    schema = parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
    place = find_place(text) or "unknown"
    zone = find_zone(text) or "UTC"
    expression = find_expression(text) or text
    number = _NUMBER.search(text)

    def hint(name: str, subschema: dict[str, Any]) -> Any:
        kind = subschema.get("type", "string")
        quantity = _number_beside(name, text)
        if quantity is None and number and _IDENTIFIER_NAME.search(name):
            quantity = number.group(0)
        if quantity is not None:
            if kind in ("integer", "number"):
                return int(float(quantity)) if kind == "integer" else float(quantity)
            return quantity
        if kind != "string" and not (isinstance(kind, list) and "string" in kind):
            return NO_HINT
        lowered = name.lower()
        if any(word in lowered for word in ("city", "location", "place")):
            return place
        if lowered in ("tz", "zone") or "timezone" in lowered or lowered.endswith(("_tz", "zone")):
            return zone
        if "expr" in lowered:
            return expression
        return NO_HINT

    return fill(schema, text="offline", hint=hint)


def _number_beside(name: str, text: str) -> str | None:
    """The number written next to a property's name ("2 dice", "sides: 6")."""
    word = re.escape(name.replace("_", " "))
    match = re.search(
        rf"(\d+(?:\.\d+)?)\s+{word}\b|\b{word}\s*(?:[:=]|of|is)?\s*(\d+(?:\.\d+)?)", text, re.I
    )
    return (match.group(1) or match.group(2)) if match else None


def find_place(text: str) -> str | None:
    """The place after " in " ("What's the weather in Paris?" → "Paris")."""
    matches = [m.group(1) for m in _PLACE.finditer(text)]
    matches = [m for m in matches if m.split()[0].lower() not in _STOP_WORDS]
    if not matches:
        return None
    capitalized = [m for m in matches if m[0].isupper()]
    return (capitalized or matches)[0].strip(".'-")


def find_zone(text: str) -> str | None:
    match = _IANA_ZONE.search(text)
    return match.group(0) if match else None


def find_expression(text: str) -> str | None:
    """The first arithmetic expression in the text, e.g. "12 * (3 + 4)"."""
    for match in _EXPRESSION.finditer(text):
        candidate = match.group(0).strip()
        if _OPERATOR.search(candidate):
            return candidate
    return None
