"""Stream events for output items, in the official order of the Responses API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from offline_openai.items import Item

Event = dict[str, Any]

_CHUNK = re.compile(r"\s*\S+\s*")


def chunks(text: str) -> list[str]:
    """Word-sized deltas that concatenate back to `text`."""
    pieces = _CHUNK.findall(text)
    return pieces if "".join(pieces) == text else [text]


def item_events(item: Item, index: int) -> Iterator[Event]:
    """Events (without sequence numbers) that stream one finished output item."""
    kind = item.get("type")
    if kind == "message":
        yield from _message_events(item, index)
    elif kind == "function_call":
        yield from _arguments_events(item, index, "function_call")
    elif kind == "web_search_call":
        yield from _hosted_events(item, index, "web_search_call", ("in_progress", "searching"))
    elif kind == "file_search_call":
        yield from _hosted_events(item, index, "file_search_call", ("in_progress", "searching"))
    elif kind == "mcp_list_tools":
        yield from _mcp_list_events(item, index)
    elif kind == "mcp_call":
        yield from _arguments_events(item, index, "mcp_call")
    else:
        yield _added(item, index)
        yield _done(item, index)


def _added(item: Item, index: int) -> Event:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def _done(item: Item, index: int) -> Event:
    return {"type": "response.output_item.done", "output_index": index, "item": item}


def _message_events(item: Item, index: int) -> Iterator[Event]:
    item_id = item["id"]
    yield _added({**item, "status": "in_progress", "content": []}, index)
    for content_index, part in enumerate(item["content"]):
        where = {"item_id": item_id, "output_index": index, "content_index": content_index}
        if part.get("type") != "output_text":
            yield {"type": "response.content_part.added", **where, "part": part}
            yield {"type": "response.content_part.done", **where, "part": part}
            continue
        empty = {**part, "text": ""}
        yield {"type": "response.content_part.added", **where, "part": empty}
        for delta in chunks(part["text"]):
            yield {"type": "response.output_text.delta", **where, "delta": delta, "logprobs": []}
        yield {"type": "response.output_text.done", **where, "text": part["text"], "logprobs": []}
        yield {"type": "response.content_part.done", **where, "part": part}
    yield _done(item, index)


def _arguments_events(item: Item, index: int, kind: str) -> Iterator[Event]:
    item_id = item["id"]
    started: Item = {**item, "status": "in_progress", "arguments": ""}
    if kind == "mcp_call":
        started["output"] = None
    yield _added(started, index)
    where = {"item_id": item_id, "output_index": index}
    if kind == "mcp_call":
        yield {"type": "response.mcp_call.in_progress", **where}
        prefix = "response.mcp_call_arguments"
    else:
        prefix = "response.function_call_arguments"
    for delta in chunks(item["arguments"]):
        yield {"type": f"{prefix}.delta", **where, "delta": delta}
    done: Event = {"type": f"{prefix}.done", **where, "arguments": item["arguments"]}
    if kind == "function_call":
        done["name"] = item["name"]
    yield done
    if kind == "mcp_call":
        yield {"type": "response.mcp_call.completed", **where}
    yield _done(item, index)


def _hosted_events(item: Item, index: int, kind: str, phases: tuple[str, ...]) -> Iterator[Event]:
    started = {**item, "status": "in_progress"}
    if kind == "file_search_call":
        started["results"] = None
    yield _added(started, index)
    where = {"output_index": index, "item_id": item["id"]}
    for phase in (*phases, "completed"):
        yield {"type": f"response.{kind}.{phase}", **where}
    yield _done(item, index)


def _mcp_list_events(item: Item, index: int) -> Iterator[Event]:
    yield _added({**item, "tools": [], "error": None}, index)
    where = {"item_id": item["id"], "output_index": index}
    yield {"type": "response.mcp_list_tools.in_progress", **where}
    outcome = "failed" if item.get("error") else "completed"
    yield {"type": f"response.mcp_list_tools.{outcome}", **where}
    yield _done(item, index)


def sse_frame(event: Event) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()
