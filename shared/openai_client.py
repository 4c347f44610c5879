"""The one OpenAI SDK client of a process, built from settings."""

from __future__ import annotations

from functools import lru_cache

from openai import OpenAI

from shared.settings import get_settings


@lru_cache(maxsize=1)
def get_openai_client() -> OpenAI:
    settings = get_settings()
    return OpenAI(
        api_key=settings.OPENAI_API_KEY or "offline",
        base_url=settings.OPENAI_BASE_URL or None,
        timeout=settings.OPENAI_TIMEOUT_SECONDS,
        max_retries=settings.OPENAI_MAX_RETRIES,
    )
