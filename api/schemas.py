"""Request bodies and query strings, validated with pydantic; unknown fields are refused."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from api.create_parameters import CreateParameters
from api.schema_base import Strict, ToolName
from shared.jobs import states

MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=512)]
Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=16)]
# The worker adds `job_id` to a request's metadata, and OpenAI allows 16 keys in all.
RequestMetadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=15)]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:@-]{1,40}$")]
# Ids pass through to OpenAI as they are, but none holds a control character (nor can
# PostgreSQL store NUL).
ObjectId = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")]
# Where the job's events are POSTed; which URLs are allowed is checked at submit (targets.py).
WebhookUrl = Annotated[
    str,
    Field(
        max_length=2_000,
        description="https URL the job's events are POSTed to, signed (Standard Webhooks)",
    ),
]

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _calendar_date(value: Any) -> date:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a calendar date") from None


CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]

DATA_URL = re.compile(r"^data:image/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/=\s]+$")


class FunctionTool(Strict):
    """A function the caller defines and runs: a call to it parks the job in requires_action."""

    type: Literal["function"]
    name: ToolName
    description: Annotated[str, StringConstraints(max_length=2_000)] | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class WebSearchTool(Strict):
    type: Literal["web_search", "web_search_preview"]
    search_context_size: Literal["low", "medium", "high"] | None = None
    user_location: dict[str, Any] | None = None


class FileSearchTool(Strict):
    type: Literal["file_search"]
    vector_store_ids: Annotated[list[ObjectId], Field(min_length=1, max_length=16)]
    max_num_results: Annotated[int, Field(ge=1, le=50)] | None = None


class McpTool(Strict):
    """A remote MCP server; its URL must be on MCP_ALLOWED_URLS."""

    type: Literal["mcp"]
    server_label: ToolName
    server_url: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2_000)]
    server_description: Annotated[str, StringConstraints(max_length=2_000)] | None = None
    allowed_tools: Annotated[list[ToolName], Field(max_length=64)] | None = None
    require_approval: Literal["never", "always"] | None = None
    headers: (
        Annotated[
            dict[str, Annotated[str, StringConstraints(max_length=2_000)]], Field(max_length=16)
        ]
        | None
    ) = None


HostedOrCallerTool = Annotated[
    FunctionTool | WebSearchTool | FileSearchTool | McpTool, Field(discriminator="type")
]
# A string names one of the worker's server tools (get_weather, get_time, calculate).
Tool = ToolName | HostedOrCallerTool
Tools = Annotated[list[Tool], Field(max_length=32)]


class ChatRequest(CreateParameters):
    """Send one message; without conversation_id a new conversation is made."""

    message: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    conversation_id: ObjectId | None = None
    user_id: UserId | None = None
    model: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    instructions: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    tools: Tools | None = None
    metadata: RequestMetadata | None = None
    on_busy: Literal["queue", "reject"] = "queue"
    webhook_url: WebhookUrl | None = None


class InputText(Strict):
    type: Literal["input_text"]
    text: Annotated[str, StringConstraints(max_length=100_000)]


class InputImage(Strict):
    """An image by http(s) URL, data URL, or one of the caller's uploaded `file_…` ids."""

    type: Literal["input_image"]
    image_url: Annotated[str, StringConstraints(max_length=30_000_000)] | None = None
    file_id: ObjectId | None = None
    detail: Literal["low", "high", "auto"] = "auto"

    @model_validator(mode="after")
    def _one_source(self) -> InputImage:
        if (self.image_url is None) == (self.file_id is None):
            raise ValueError("give exactly one of image_url and file_id")
        url = self.image_url
        if url is not None and not (url.startswith(("https://", "http://")) or DATA_URL.match(url)):
            raise ValueError("image_url must be an http(s) URL or a base64 image data URL")
        return self


class InputFile(Strict):
    """A file (a PDF, say) by URL or by one of the caller's uploaded `file_…` ids."""

    type: Literal["input_file"]
    file_url: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2_000)] | None = (
        None
    )
    file_id: ObjectId | None = None
    filename: Annotated[str, StringConstraints(max_length=255)] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> InputFile:
        if (self.file_url is None) == (self.file_id is None):
            raise ValueError("give exactly one of file_url and file_id")
        return self


ContentPart = Annotated[InputText | InputImage | InputFile, Field(discriminator="type")]


class InputMessage(Strict):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: (
        Annotated[str, StringConstraints(max_length=100_000)]
        | Annotated[list[ContentPart], Field(min_length=1, max_length=64)]
    )


class JsonSchemaFormat(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["json_schema"]
    name: ToolName
    json_schema: dict[str, Any] = Field(alias="schema")
    strict: bool = True
    description: Annotated[str, StringConstraints(max_length=2_000)] | None = None


class PlainTextFormat(Strict):
    type: Literal["text"]


class TextConfig(Strict):
    format: Annotated[JsonSchemaFormat | PlainTextFormat, Field(discriminator="type")] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(Strict):
    effort: Literal["minimal", "low", "medium", "high"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None


class ResponsesRequest(CreateParameters):
    """A general Responses request, run through the queue."""

    input: (
        Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
        | Annotated[list[InputMessage], Field(min_length=1, max_length=100)]
    )
    conversation_id: ObjectId | None = None
    user_id: UserId | None = None
    model: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    instructions: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    tools: Tools | None = None
    text: TextConfig | None = None
    reasoning: ReasoningConfig | None = None
    metadata: RequestMetadata | None = None
    on_busy: Literal["queue", "reject"] = "queue"
    webhook_url: WebhookUrl | None = None


class ToolOutput(Strict):
    call_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    output: Annotated[str, StringConstraints(max_length=100_000)]


class ToolOutputsRequest(Strict):
    tool_outputs: Annotated[list[ToolOutput], Field(min_length=1, max_length=64)]
    user_id: UserId | None = None


class ConversationPatch(Strict):
    metadata: Metadata
    user_id: UserId | None = None


class UserScoped(Strict):
    """A body with nothing but the acting user (for service tokens)."""

    user_id: UserId | None = None


class ListQuery(Strict):
    limit: int = Field(default=20, ge=1, le=100)
    after: ObjectId | None = None
    user_id: UserId | None = None


class JobListQuery(ListQuery):
    status: Literal[tuple(sorted(states.ALL))] | None = None  # type: ignore[valid-type]
    conversation_id: ObjectId | None = None


class ConversationListQuery(ListQuery):
    status: Literal["active", "closed", "expired"] | None = None


class JobQuery(Strict):
    wait: float = Field(default=0, ge=0, le=30)
    user_id: UserId | None = None

    @field_validator("wait")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value:  # NaN
            raise ValueError("wait must be a number of seconds from 0 to 30")
        return value


class UserQuery(Strict):
    user_id: UserId | None = None


class UsageQuery(Strict):
    user_id: UserId | None = None
    from_date: CalendarDate | None = Field(
        None, alias="from", description="first UTC day (default: the first of to's month)"
    )
    to_date: CalendarDate | None = Field(
        None, alias="to", description="last UTC day (default: today)"
    )


class CompatChatRequest(Strict):
    """The original multi-user app's POST /chat body."""

    message: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    user_id: UserId | None = None
    conversation_id: ObjectId | None = None


class CompatConversationQuery(Strict):
    user_id: UserId | None = None
    status: Literal["active", "closed", "expired"] | None = None
    limit: int = Field(default=100, ge=1, le=100)
