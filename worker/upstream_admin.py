"""Upstream housekeeping outside jobs: conversation metadata, deleted conversations and files."""

from __future__ import annotations

import contextlib
from typing import Any

import openai

from shared.core.openai_client import get_openai_client


def update_conversation_metadata(upstream_id: str, metadata: dict[str, Any]) -> None:
    get_openai_client().conversations.update(upstream_id, metadata=metadata)


def delete_conversation(upstream_id: str) -> None:
    with contextlib.suppress(openai.NotFoundError):  # already gone: the goal is reached
        get_openai_client().conversations.delete(upstream_id)


def delete_file(upstream_id: str) -> None:
    with contextlib.suppress(openai.NotFoundError):
        get_openai_client().files.delete(upstream_id)
