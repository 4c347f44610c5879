"""An OpenAI SDK client whose requests a test function answers, as the unit tests fake the
upstream."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
from openai import OpenAI


def sdk_client(answer: Callable[[httpx2.Request], httpx2.Response]) -> OpenAI:
    """Every request goes to `answer`, once: the SDK's own retries are off."""
    return OpenAI(
        api_key="test",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
    )
