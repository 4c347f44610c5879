"""The Responses create parameters a caller may set, with the bounds of OpenAI's OpenAPI
document; the worker sends them on every upstream call of the job."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from openai.types.responses import ResponseIncludable
from pydantic import Field, StringConstraints

from api.schema_base import Strict, ToolName


class ToolChoiceFunction(Strict):
    type: Literal["function"]
    name: ToolName


class ToolChoiceHosted(Strict):
    type: Literal[
        "file_search",
        "web_search_preview",
        "computer",
        "computer_use_preview",
        "computer_use",
        "web_search_preview_2025_03_11",
        "image_generation",
        "code_interpreter",
    ]


class ToolChoiceMcp(Strict):
    type: Literal["mcp"]
    server_label: ToolName
    name: ToolName | None = None


class ToolChoiceAllowed(Strict):
    type: Literal["allowed_tools"]
    mode: Literal["auto", "required"]
    tools: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=32)]


ToolChoice = (
    Literal["auto", "none", "required"]
    | Annotated[
        ToolChoiceFunction | ToolChoiceHosted | ToolChoiceMcp | ToolChoiceAllowed,
        Field(discriminator="type"),
    ]
)


class CreateParameters(Strict):
    """Shared by /v1/chat and /v1/responses; shared.jobs.create_parameters names the fields."""

    max_output_tokens: Annotated[int, Field(ge=16)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2, allow_inf_nan=False)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tool_calls: Annotated[int, Field(ge=0)] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    include: Annotated[list[ResponseIncludable], Field(max_length=8)] | None = None
    prompt_cache_key: Annotated[str, StringConstraints(min_length=1, max_length=1_024)] | None = (
        None
    )
    service_tier: (
        Literal["auto", "default", "flex", "scale", "priority", "fast", "ultrafast"] | None
    ) = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
