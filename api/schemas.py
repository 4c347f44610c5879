"""Request bodies and query strings, validated with pydantic; unknown fields are refused."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared import job_states

MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=512)]
Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=16)]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:@-]{1,40}$")]
ObjectId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=100_000)


class ChatRequest(Strict):
    """Send one message; without conversation_id a new conversation is made."""

    message: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    conversation_id: ObjectId | None = None
    user_id: UserId | None = None
    model: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    instructions: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    metadata: Metadata | None = None
    on_busy: Literal["queue", "reject"] = "queue"


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
    status: Literal[tuple(sorted(job_states.ALL))] | None = None  # type: ignore[valid-type]
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
