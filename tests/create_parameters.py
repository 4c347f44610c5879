"""A valid value for every Responses create parameter the gateway passes through (with
`tools=["get_weather"]`, which the tool_choice names), for the tests that follow each one."""

from __future__ import annotations

from typing import Any

EVERY_PARAMETER: dict[str, Any] = {
    "max_output_tokens": 512,
    "temperature": 0.2,
    "top_p": 0.9,
    "tool_choice": {"type": "function", "name": "get_weather"},
    "parallel_tool_calls": False,
    "max_tool_calls": 3,
    "truncation": "auto",
    "include": ["message.output_text.logprobs"],
    "prompt_cache_key": "weather-desk",
    "service_tier": "flex",
    "top_logprobs": 5,
}
