"""The Responses create parameters a caller may set, and the operator's caps on them: which
models a caller may name, and the most output one upstream call may ask for."""

from __future__ import annotations

from typing import Any

from shared.core.db import read_session
from shared.core.errors import InvalidInput
from shared.core.models import User
from shared.core.settings import get_settings

# Passed to the upstream as the caller gave them, on every call of the job.
CREATE_PARAMETERS = (
    "max_output_tokens",
    "temperature",
    "top_p",
    "tool_choice",
    "parallel_tool_calls",
    "max_tool_calls",
    "truncation",
    "include",
    "prompt_cache_key",
    "service_tier",
    "top_logprobs",
)


def check_create_parameters(user_id: str, request: dict[str, Any]) -> None:
    """Refuse a request the operator's caps don't allow, or whose tool_choice names no tool."""
    check_model(user_id, request.get("model"))
    limit = get_settings().MAX_OUTPUT_TOKENS
    asked = request.get("max_output_tokens")
    if asked is not None and asked > limit:
        raise InvalidInput(
            "max_output_tokens_too_large",
            f"max_output_tokens may be at most {limit} on this gateway (MAX_OUTPUT_TOKENS).",
            "max_output_tokens",
        )
    check_tool_choice(request.get("tool_choice"), request.get("tools") or [])


def check_model(user_id: str, model: str | None) -> None:
    settings = get_settings()
    if model is None or model == settings.OPENAI_MODEL:
        return
    with read_session() as session:
        user = session.get(User, user_id)
        user_models = user.allowed_models if user is not None else None
    if settings.model_allowed(model, user_models):
        return
    allowed = user_models if user_models is not None else settings.ALLOWED_MODELS
    names = ", ".join(sorted({settings.OPENAI_MODEL, *allowed}))
    raise InvalidInput(
        "model_not_allowed", f"Model {model!r} is not allowed here; allowed: {names}.", "model"
    )


def check_tool_choice(choice: Any, tools: list[Any]) -> None:
    """A forced or named tool must be among the request's tools, as OpenAI requires."""
    if choice is None or choice in ("auto", "none"):
        return
    if not tools:
        raise _bad_choice("tool_choice needs tools: the request names none.", "tool_choice")
    if not isinstance(choice, dict):
        return
    kind = choice["type"]
    if kind == "function":
        names = {t if isinstance(t, str) else t.get("name") for t in tools}
        if choice["name"] not in names:
            raise _bad_choice(
                f"tool_choice names {choice['name']!r}, which is not among the tools.",
                "tool_choice.name",
            )
    elif kind == "mcp":
        labels = {t.get("server_label") for t in tools if isinstance(t, dict)}
        if choice["server_label"] not in labels:
            raise _bad_choice(
                f"tool_choice names MCP server {choice['server_label']!r}, not among the tools.",
                "tool_choice.server_label",
            )
    elif kind != "allowed_tools":
        types = {t.get("type") for t in tools if isinstance(t, dict)}
        if kind not in types:
            raise _bad_choice(
                f"tool_choice names the {kind} tool, which is not among the tools.",
                "tool_choice.type",
            )


def _bad_choice(message: str, param: str) -> InvalidInput:
    return InvalidInput("invalid_tool_choice", message, param)
