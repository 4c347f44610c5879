"""A deterministic local stand-in for the OpenAI HTTP API (Responses, Conversations, Files)."""

from __future__ import annotations

from offline_openai.app import create_app
from offline_openai.config import OfflineConfig

__all__ = ["OfflineConfig", "create_app"]
