"""The output, sampling and tool-choice options of a create body, refused as OpenAI refuses them
(bounds and enums of OpenAI's OpenAPI document)."""

from __future__ import annotations

from typing import Any, get_args, get_type_hints

from openai.types.responses import ResponseIncludable, ToolChoiceOptions, ToolChoiceTypes
from openai.types.responses.response_create_params import ResponseCreateParamsBase

from offline_openai.errors import ApiError, invalid, missing

# OpenAI's enums, as the SDK (generated from OpenAI's OpenAPI document) spells them.
_CREATE_PARAMS = get_type_hints(ResponseCreateParamsBase)
TRUNCATION: tuple[str, ...] = get_args(get_args(_CREATE_PARAMS["truncation"])[0])
SERVICE_TIERS: tuple[str, ...] = get_args(get_args(_CREATE_PARAMS["service_tier"])[0])
INCLUDE: tuple[str, ...] = get_args(ResponseIncludable)
TOOL_CHOICE_MODES: tuple[str, ...] = get_args(ToolChoiceOptions)
HOSTED_TOOL_CHOICES: tuple[str, ...] = get_args(ToolChoiceTypes.model_fields["type"].annotation)
NAMED_TOOL_CHOICES = ("function", "custom", "mcp", "allowed_tools", "apply_patch", "shell")
SAFETY_IDENTIFIER_MAX = 64


def enum_value(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(name)
    if value is None or value in allowed:
        return value
    raise _invalid_value(name, value, allowed)


def integer(body: dict[str, Any], name: str, low: int, high: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(
            f"Invalid type for '{name}': expected an integer, but got a {type(value).__name__}.",
            name,
            "invalid_type",
        )
    if value < low:
        raise invalid(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            name,
            "integer_below_min_value",
        )
    if high is not None and value > high:
        raise invalid(
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            name,
            "integer_above_max_value",
        )
    return value


def check_include(body: dict[str, Any]) -> None:
    value = body.get("include")
    if value is None:
        return
    if not isinstance(value, list):
        raise invalid("Invalid type for 'include': expected an array.", "include", "invalid_type")
    for index, item in enumerate(value):
        if item not in INCLUDE:
            raise _invalid_value(f"include[{index}]", item, INCLUDE)


def safety_identifier(body: dict[str, Any]) -> str | None:
    value = body.get("safety_identifier")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > SAFETY_IDENTIFIER_MAX:
        raise invalid(
            f"Invalid 'safety_identifier': expected a string of at most {SAFETY_IDENTIFIER_MAX} "
            "characters.",
            "safety_identifier",
            "string_above_max_length",
        )
    return value


def tool_choice(body: dict[str, Any]) -> Any:
    value = body.get("tool_choice")
    if value is None:
        return "auto"
    if isinstance(value, str):
        if value not in TOOL_CHOICE_MODES:
            raise _invalid_value("tool_choice", value, TOOL_CHOICE_MODES)
        return value
    if not isinstance(value, dict):
        raise invalid("Invalid type for 'tool_choice'.", "tool_choice", "invalid_type")
    kind = value.get("type")
    if kind not in HOSTED_TOOL_CHOICES + NAMED_TOOL_CHOICES:
        raise _invalid_value("tool_choice.type", kind, HOSTED_TOOL_CHOICES + NAMED_TOOL_CHOICES)
    if kind in ("function", "custom") and not isinstance(value.get("name"), str):
        raise missing("tool_choice.name")
    if kind == "mcp" and not isinstance(value.get("server_label"), str):
        raise missing("tool_choice.server_label")
    if kind == "allowed_tools":
        enum_value(value, "mode", ("auto", "required"))
        if value.get("mode") is None:
            raise missing("tool_choice.mode")
        if not isinstance(value.get("tools"), list):
            raise missing("tool_choice.tools")
    return value


def _invalid_value(name: str, value: Any, allowed: tuple[str, ...]) -> ApiError:
    supported = ", ".join(f"'{item}'" for item in allowed)
    return invalid(
        f"Invalid value: {value!r}. Supported values are: {supported}.", name, "invalid_value"
    )
