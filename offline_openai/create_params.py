"""Validation of a `POST /v1/responses` body into typed parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from offline_openai import create_options
from offline_openai.errors import ApiError, invalid, missing

_FORMAT_TYPES = ("text", "json_schema", "json_object")


@dataclass(frozen=True)
class CreateParams:
    model: str
    raw_input: Any
    conversation_id: str | None
    previous_response_id: str | None
    stream: bool
    background: bool
    store: bool
    tools: list[dict[str, Any]]
    tool_choice: Any
    parallel_tool_calls: bool
    text_format: dict[str, Any] | None
    max_output_tokens: int | None
    metadata: dict[str, str]
    echo: dict[str, Any]

    @property
    def job_id(self) -> str | None:
        return self.metadata.get("job_id")


def conversation_id_of(value: Any) -> str | None:
    """The id in `conversation`, which may be a string or {"id": …}."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def parse_create(body: dict[str, Any]) -> CreateParams:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise missing("model")
    if model.startswith("invalid"):
        raise ApiError(
            400,
            f"The requested model '{model}' does not exist.",
            param="model",
            code="model_not_found",
        )
    conversation = body.get("conversation")
    conversation_id = conversation_id_of(conversation)
    if conversation is not None and conversation_id is None:
        raise invalid("Invalid value for 'conversation': expected an id.", "conversation")
    previous = _optional(body, "previous_response_id", str)
    if conversation_id and previous:
        raise invalid(
            "Mutually exclusive parameters: 'previous_response_id' and 'conversation'. "
            "Ensure you are only providing one of these parameters.",
            "previous_response_id",
        )
    if body.get("input") is None and not (conversation_id or previous):
        raise missing("input")
    stream = bool(_optional(body, "stream", bool))
    background = bool(_optional(body, "background", bool))
    store = _optional(body, "store", bool)
    store = True if store is None else store
    if background and not store:
        raise invalid("Background mode requires 'store' to be true.", "background")
    tools = _tools(body.get("tools"))
    tool_choice = create_options.tool_choice(body)
    parallel = _optional(body, "parallel_tool_calls", bool)
    parallel = True if parallel is None else parallel
    text = _optional(body, "text", dict) or {}
    text_format = _text_format(text.get("format"))
    max_tokens = create_options.integer(body, "max_output_tokens", 16)
    metadata = validate_metadata(body.get("metadata"), "metadata")
    temperature = _number(body, "temperature", 0.0, 2.0, 1.0)
    top_p = _number(body, "top_p", 0.0, 1.0, 1.0)
    reasoning = _optional(body, "reasoning", dict) or {}
    create_options.check_include(body)
    echo = {
        "instructions": body.get("instructions"),
        "max_output_tokens": max_tokens,
        "max_tool_calls": create_options.integer(body, "max_tool_calls", 0),
        "metadata": metadata,
        "parallel_tool_calls": parallel,
        "prompt_cache_key": _optional(body, "prompt_cache_key", str),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": create_options.safety_identifier(body),
        "service_tier": create_options.enum_value(
            body, "service_tier", create_options.SERVICE_TIERS
        )
        or "default",
        "store": store,
        "temperature": temperature,
        "text": {
            "format": text_format or {"type": "text"},
            "verbosity": text.get("verbosity") or "medium",
        },
        "tool_choice": tool_choice,
        "tools": tools,
        "top_logprobs": create_options.integer(body, "top_logprobs", 0, 20) or 0,
        "top_p": top_p,
        "truncation": create_options.enum_value(body, "truncation", create_options.TRUNCATION)
        or "disabled",
    }
    return CreateParams(
        model=model,
        raw_input=body.get("input"),
        conversation_id=conversation_id,
        previous_response_id=previous,
        stream=stream,
        background=background,
        store=store,
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        text_format=text_format,
        max_output_tokens=max_tokens,
        metadata=metadata,
        echo=echo,
    )


def validate_metadata(value: Any, param: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Invalid type for '{param}': expected an object.", param)
    if len(value) > 16:
        raise invalid(f"Invalid '{param}': at most 16 keys are allowed.", param)
    for key, item in value.items():
        if len(key) > 64 or not isinstance(item, str) or len(item) > 512:
            raise invalid(
                f"Invalid '{param}': keys are strings up to 64 characters and values "
                "strings up to 512 characters.",
                f"{param}.{key}",
            )
    return dict(value)


def _optional(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise invalid(f"Invalid type for '{name}': expected {kind.__name__}.", name)
    return value


def _number(body: dict[str, Any], name: str, low: float, high: float, default: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise invalid(f"Invalid '{name}': expected a number from {low} to {high}.", name)
    return float(value)


def _tools(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("Invalid type for 'tools': expected an array.", "tools")
    tools = []
    for index, tool in enumerate(value):
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise missing(f"tools[{index}].type")
        if tool["type"] == "function":
            if not isinstance(tool.get("name"), str) or not tool["name"]:
                raise missing(f"tools[{index}].name")
            tool = {
                "type": "function",
                "name": tool["name"],
                "description": tool.get("description"),
                "parameters": tool.get("parameters"),
                "strict": True if tool.get("strict") is None else bool(tool["strict"]),
            }
        elif tool["type"] == "mcp" and not isinstance(tool.get("server_label"), str):
            raise missing(f"tools[{index}].server_label")
        tools.append(tool)
    return tools


def _text_format(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in _FORMAT_TYPES:
        raise invalid("Invalid value for 'text.format.type'.", "text.format.type")
    if value["type"] != "json_schema":
        return {"type": value["type"]}
    if not isinstance(value.get("name"), str):
        raise missing("text.format.name")
    if not isinstance(value.get("schema"), dict):
        raise missing("text.format.schema")
    fmt = {key: value[key] for key in ("type", "name", "schema") if key in value}
    if isinstance(value.get("description"), str):
        fmt["description"] = value["description"]
    fmt["strict"] = bool(value.get("strict", False))
    return fmt
