"""What the sync and async clients share: request bodies, retry pacing, job events, job views."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypedDict

import httpx
from httpx_sse import ServerSentEvent

from client.errors import BudgetExceeded, GatewayError, error_from_body

TERMINAL = frozenset({"completed", "failed", "cancelled", "incomplete"})
REQUIRES_ACTION = "requires_action"
MAX_LONG_POLL = 30.0
DEFAULT_TIMEOUT = 60.0

Json = dict[str, Any]
ToolSpec = str | Mapping[str, Any]


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the gateway sends delta-seconds); None when absent or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds) if seconds == seconds else None


def error_for(response: httpx.Response) -> GatewayError:
    """The exception for an error answer (its body must already be read)."""
    try:
        body: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return error_from_body(response.status_code, body, response.text, retry_after)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: 429 and 503 after Retry-After (capped); lost connections backed off."""

    max_retries: int = 4
    max_wait: float = 30.0
    backoff: float = 0.5

    def after_error(self, attempt: int, error: GatewayError) -> float | None:
        """Seconds to wait before retrying after an error answer, or None to give up (a spent
        token budget lasts until its window ends)."""
        if attempt >= self.max_retries or error.status not in (429, 503):
            return None
        if isinstance(error, BudgetExceeded):
            return None
        if error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        return self._backoff(attempt)

    def after_transport_error(self, attempt: int) -> float | None:
        """Seconds to wait before retrying a request that never got an answer, or None."""
        return None if attempt >= self.max_retries else self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        base: float = min(self.backoff * 2**attempt, self.max_wait)
        return base * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event of a job: `event`, JSON `data`, and `id`, the stream's last event
    id (a synthesized end has none of its own, so it carries the one before it)."""

    event: str
    data: Json
    id: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.event == "status" and self.data.get("status") in TERMINAL


def job_event(sse: ServerSentEvent) -> Event:
    """A job's event from a Server-Sent Event (framed by httpx-sse): its data is JSON."""
    try:
        data = json.loads(sse.data)
    except ValueError:
        data = {"raw": sse.data}
    return Event(sse.event, data if isinstance(data, dict) else {"value": data}, sse.id or None)


def compact(**fields: Any) -> Json:
    """The fields that are not None."""
    return {key: value for key, value in fields.items() if value is not None}


def usage_range(start: date | str | None, end: date | str | None) -> Json:
    """GET /v1/usage's `from` and `to` (UTC days, YYYY-MM-DD)."""
    return compact(**{"from": start and str(start), "to": end and str(end)})


class CreateParameters(TypedDict, total=False):
    """The Responses create parameters `chat` and `respond` take as keyword arguments."""

    max_output_tokens: int
    temperature: float
    top_p: float
    tool_choice: Literal["auto", "none", "required"] | Mapping[str, Any]
    parallel_tool_calls: bool
    max_tool_calls: int
    truncation: Literal["auto", "disabled"]
    include: Sequence[str]
    prompt_cache_key: str
    service_tier: str
    top_logprobs: int


def chat_body(
    message: str,
    conversation_id: str | None,
    tools: Sequence[ToolSpec] | None,
    model: str | None,
    instructions: str | None,
    metadata: Mapping[str, str] | None,
    parameters: CreateParameters | None = None,
    webhook_url: str | None = None,
) -> Json:
    return compact(
        message=message,
        conversation_id=conversation_id,
        tools=list(tools) if tools is not None else None,
        model=model,
        instructions=instructions,
        metadata=dict(metadata) if metadata is not None else None,
        webhook_url=webhook_url,
        **json_parameters(parameters or CreateParameters()),
    )


def json_parameters(parameters: CreateParameters) -> Json:
    """The parameters as JSON values (a sequence becomes a list, a mapping a dict)."""
    body: Json = dict(parameters)
    if "include" in body:
        body["include"] = list(body["include"])
    if isinstance(body.get("tool_choice"), Mapping):
        body["tool_choice"] = dict(body["tool_choice"])
    return body


def respond_body(input: str | Sequence[Mapping[str, Any]], **fields: Any) -> Json:
    body = compact(**fields)
    body["input"] = input if isinstance(input, str) else [dict(item) for item in input]
    if "tools" in body:
        body["tools"] = list(body["tools"])
    return body


def tool_outputs_body(outputs: Sequence[Mapping[str, str]] | Mapping[str, str]) -> Json:
    """Accepts `[{"call_id", "output"}]` or `{call_id: output}`."""
    if isinstance(outputs, Mapping):
        items = [{"call_id": key, "output": value} for key, value in outputs.items()]
    else:
        items = [{"call_id": o["call_id"], "output": o["output"]} for o in outputs]
    return {"tool_outputs": items}


@dataclass
class Page:
    """One page of a list answer."""

    data: list[Json]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None

    @classmethod
    def of(cls, body: Json) -> Page:
        return cls(
            list(body.get("data") or []),
            bool(body.get("has_more")),
            body.get("first_id"),
            body.get("last_id"),
        )

    def __iter__(self) -> Iterator[Json]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


class JobView:
    """Read access to a job body, shared by `Job` and `AsyncJob`."""

    def __init__(self, data: Json, retry_after: float | None = None) -> None:
        self.data = data
        self.retry_after = retry_after if retry_after is not None else 1.0

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def status(self) -> str:
        return str(self.data.get("status"))

    @property
    def done(self) -> bool:
        """Terminal: completed, failed, cancelled or incomplete."""
        return self.status in TERMINAL

    @property
    def settled(self) -> bool:
        """Terminal, or waiting for the caller's tool outputs."""
        return self.done or self.status == REQUIRES_ACTION

    @property
    def conversation_id(self) -> str | None:
        value = self.data.get("conversation_id")
        return str(value) if value is not None else None

    @property
    def result(self) -> Json | None:
        result = self.data.get("result")
        return result if isinstance(result, dict) else None

    @property
    def output_text(self) -> str:
        return str((self.result or {}).get("output_text") or "")

    @property
    def error(self) -> Json | None:
        error = self.data.get("error")
        return error if isinstance(error, dict) else None

    @property
    def required_action(self) -> Json | None:
        action = self.data.get("required_action")
        return action if isinstance(action, dict) else None

    @property
    def tool_calls(self) -> list[Json]:
        return list((self.required_action or {}).get("tool_calls") or [])

    def _update(self, response: httpx.Response) -> None:
        self.data = response.json()
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.status}>"


def poll_wait(remaining: float) -> float:
    """The `?wait=` of the next long poll, given the seconds the caller still waits."""
    return max(0.0, min(MAX_LONG_POLL, remaining))


def events_path(job_id: str) -> str:
    return f"/v1/jobs/{job_id}/events"


def reconnect_delay(failures: int) -> float:
    return float(min(0.1 * 2**failures, 5.0))


def file_kind(file: Mapping[str, Any]) -> str:
    """`input_image` for an uploaded image, else `input_file`."""
    return "input_image" if str(file.get("media_type", "")).startswith("image/") else "input_file"


def message_with_files(text: str, files: Sequence[Mapping[str, Any]]) -> list[Json]:
    """One user message: the text and each uploaded file by its id."""
    content: list[Json] = [{"type": "input_text", "text": text}]
    content += [{"type": file_kind(file), "file_id": file["id"]} for file in files]
    return [{"role": "user", "content": content}]
