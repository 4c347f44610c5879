"""The offline "model": a small, deterministic reply computed from the real context."""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from typing import Any

from offline_openai.hosted_tools import hosted_calls
from offline_openai.ids import hex_id
from offline_openai.items import (
    Item,
    count_tokens,
    count_words,
    is_user_message,
    message_text,
    output_text_of,
)
from offline_openai.schema_fill import fill
from offline_openai.tool_calls import Request, plan_calls

_NAME_IS = re.compile(r"\bmy name is\s+(\S+)", re.I)
_ASKS_NAME = re.compile(r"\bmy name\b", re.I)
_ECHO_WORDS = 12


@dataclass(frozen=True)
class ModelRequest:
    """Everything the model sees for one response."""

    model: str
    history: list[Item]
    input_items: list[Item]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    text_format: dict[str, Any] | None = None
    max_output_tokens: int | None = None
    file_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelAnswer:
    """The finished output of one response, before it is streamed or stored."""

    items: list[Item]
    status: str
    input_tokens: int
    output_tokens: int = 0
    incomplete_reason: str | None = None
    error: dict[str, str] | None = None


def answer(request: ModelRequest) -> ModelAnswer:
    context = [*request.history, *request.input_items]
    input_tokens = count_tokens(context)
    if request.model.startswith("failing"):
        error = {
            "code": "server_error",
            "message": "The offline model fails on purpose for model names starting 'failing'.",
        }
        return ModelAnswer([], "failed", input_tokens, error=error)
    turn = sum(1 for item in context if is_user_message(item))
    prefix = f"[offline turn {turn}] "
    outputs = _trailing_function_outputs(request.input_items)
    if outputs:
        names = {
            item.get("call_id"): item.get("name")
            for item in context
            if item.get("type") == "function_call"
        }
        quotes = [
            f"The {names.get(out['call_id']) or 'function'} tool says: "
            f"{output_text_of(out['output'])}"
            for out in outputs
        ]
        return _with_message([], prefix + " ".join(quotes), request, input_tokens)
    message = _last_user_message(request.input_items) or _last_user_message(context)
    text = message_text(message) if message else ""
    calls = plan_calls(
        Request(text, request.tools, request.tool_choice, request.parallel_tool_calls)
    )
    if calls:
        output_tokens = sum(count_words(call["arguments"]) for call in calls)
        return ModelAnswer(calls, "completed", input_tokens, output_tokens)
    hosted, note = hosted_calls(_shorten(text, 8), request.tools, request.tool_choice, text)
    earlier = [
        message_text(item) for item in context if is_user_message(item) and item is not message
    ]
    reply = prefix + _reply(text, message, earlier, request.file_names)
    return _with_message(hosted, f"{reply} {note}".strip(), request, input_tokens)


def _with_message(
    items: list[Item], reply: str, request: ModelRequest, input_tokens: int
) -> ModelAnswer:
    text = _format_text(reply, request.text_format)
    status, reason = "completed", None
    # Model names starting "short" stop after three words, as a model at max_output_tokens would.
    limit = 3 if request.model.startswith("short") else request.max_output_tokens
    if limit is not None and count_words(text) > limit:
        text = " ".join(text.split()[:limit])
        status, reason = "incomplete", "max_output_tokens"
    message = {
        "id": hex_id("msg"),
        "type": "message",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
        "role": "assistant",
    }
    return ModelAnswer([*items, message], status, input_tokens, count_words(text), reason)


def _format_text(reply: str, text_format: dict[str, Any] | None) -> str:
    kind = (text_format or {}).get("type")
    if kind == "json_schema" and text_format is not None:
        return json.dumps(fill(text_format.get("schema") or {}, text=reply))
    if kind == "json_object":
        return json.dumps({"reply": reply})
    return reply


def _trailing_function_outputs(items: list[Item]) -> list[Item]:
    trailing: list[Item] = []
    for item in reversed(items):
        if item.get("type") != "function_call_output":
            break
        trailing.insert(0, item)
    return trailing


def _last_user_message(items: list[Item]) -> Item | None:
    return next((item for item in reversed(items) if is_user_message(item)), None)


def _reply(text: str, message: Item | None, earlier: list[str], file_names: dict[str, str]) -> str:
    sentences = [_acknowledge(part, file_names) for part in _attachments(message)]
    told = _NAME_IS.search(text)
    if told:
        sentences.append(f"Nice to meet you, {_clean_name(told.group(1))}.")
    elif _ASKS_NAME.search(text):
        names = [_clean_name(m.group(1)) for t in earlier for m in _NAME_IS.finditer(t)]
        sentences.append(f"Your name is {names[-1]}." if names else "I don't know your name yet.")
    elif text.strip():
        sentences.append(f"You said: {_shorten(text, _ECHO_WORDS)}")
    if not sentences:
        sentences.append("I have nothing to answer.")
    return " ".join(sentences)


def _attachments(message: Item | None) -> list[Item]:
    content = (message or {}).get("content")
    if not isinstance(content, list):
        return []
    return [p for p in content if p.get("type") in ("input_image", "input_file")]


def _acknowledge(part: Item, file_names: dict[str, str]) -> str:
    file_id = part.get("file_id")
    if part["type"] == "input_image":
        url = part.get("image_url")
        if isinstance(file_id, str):
            label = file_names.get(file_id, file_id)
        elif isinstance(url, str) and url.startswith("data:"):
            label = f"inline {url[5:].split(';')[0] or 'image'}"
        else:
            label = str(url)
        return f"I see the image {label}."
    if isinstance(part.get("filename"), str):
        label = part["filename"]
    elif isinstance(file_id, str):
        label = file_names.get(file_id, file_id)
    else:
        label = str(part.get("file_url") or "inline file")
    return f"I read the file {label}."


def _clean_name(raw: str) -> str:
    return raw.strip(string.punctuation) or raw


def _shorten(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")
