"""In-memory records of responses and conversations, and the JSON bodies they render to."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any

from offline_openai.items import Item

TERMINAL_STATUSES = ("completed", "incomplete", "failed", "cancelled")


@dataclass(eq=False)
class ResponseRecord:
    """One response; every mutable field is guarded by `changed`'s lock (the store lock)."""

    id: str
    model: str
    created_at: int
    changed: threading.Condition
    echo: dict[str, Any]
    background: bool
    conversation_id: str | None
    previous_response_id: str | None
    input_items: list[Item]
    input_tokens: int
    status: str = "in_progress"
    output: list[Item] = field(default_factory=list)
    partial_output_tokens: int = 0
    usage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    incomplete_reason: str | None = None
    completed_at: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False

    def usage_so_far(self, output_tokens: int) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.input_tokens + output_tokens,
        }

    def finish(self, status: str, output_tokens: int) -> None:
        self.status = status
        self.usage = self.usage_so_far(output_tokens)
        self.completed_at = int(time.time()) if status == "completed" else None
        self.finished = True
        self.changed.notify_all()

    def saved(self) -> dict[str, Any]:
        """Every field but the lock, as JSON for the state file."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "changed"}

    @classmethod
    def from_saved(cls, saved: dict[str, Any], changed: threading.Condition) -> ResponseRecord:
        known = {f.name for f in fields(cls)}
        return cls(changed=changed, **{k: v for k, v in saved.items() if k in known})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": self.status,
            "background": self.background,
            "completed_at": self.completed_at,
            "conversation": {"id": self.conversation_id} if self.conversation_id else None,
            "error": self.error,
            "incomplete_details": (
                {"reason": self.incomplete_reason} if self.incomplete_reason else None
            ),
            "model": self.model,
            "output": list(self.output),
            "previous_response_id": self.previous_response_id,
            **self.echo,
        }
        if self.usage is not None:
            body["usage"] = dict(self.usage)
        return body


@dataclass(eq=False)
class ConversationRecord:
    id: str
    created_at: int
    metadata: dict[str, str]
    items: list[Item] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": dict(self.metadata),
        }


@dataclass(eq=False)
class FileRecord:
    meta: dict[str, Any]
    content: bytes
