"""The base of every request model: unknown fields are refused, strings are bounded."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=100_000)


ToolName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
