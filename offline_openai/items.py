"""Input items: normalized into the stored item shapes, and read back as text."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from offline_openai.errors import ApiError, invalid
from offline_openai.ids import hex_id

Item = dict[str, Any]
ItemLookup = Callable[[str], Item | None]

INPUT_ROLES = ("user", "system", "developer")
_IMAGE_DETAILS = ("low", "high", "auto", "original")
_FILE_DETAILS = ("auto", "low", "high")
_TEXT_PART_TYPES = ("input_text", "output_text", "text")


def normalize_input(raw: Any, lookup: ItemLookup, param: str = "input") -> list[Item]:
    """Turn a create-time `input` (string or item list) into stored items with ids."""
    if raw is None:
        return []
    if isinstance(raw, str):
        return [user_message(raw)]
    if not isinstance(raw, list):
        raise invalid(f"Invalid type for '{param}': expected a string or an array.", param)
    return [normalize_item(entry, lookup, f"{param}[{index}]") for index, entry in enumerate(raw)]


def user_message(text: str) -> Item:
    return {
        "id": hex_id("msg"),
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_text", "text": text}],
    }


def normalize_item(raw: Any, lookup: ItemLookup, param: str) -> Item:
    if not isinstance(raw, dict):
        raise invalid(f"Invalid type for '{param}': expected an object.", param)
    kind = raw.get("type")
    if kind == "message" or (kind is None and "role" in raw):
        return _normalize_message(raw, param)
    if kind == "item_reference":
        return _resolve_reference(raw, lookup, param)
    if kind == "function_call":
        for key in ("call_id", "name", "arguments"):
            if not isinstance(raw.get(key), str):
                raise invalid(f"Missing required parameter: '{param}.{key}'.", f"{param}.{key}")
        item = {key: raw[key] for key in ("call_id", "name", "arguments")}
        return {"id": raw.get("id") or hex_id("fc"), "type": kind, "status": "completed", **item}
    if kind == "function_call_output":
        if not isinstance(raw.get("call_id"), str):
            raise invalid(f"Missing required parameter: '{param}.call_id'.", f"{param}.call_id")
        if not isinstance(raw.get("output"), str | list):
            raise invalid(f"Missing required parameter: '{param}.output'.", f"{param}.output")
        return {
            "id": raw.get("id") or hex_id("fco"),
            "type": kind,
            "call_id": raw["call_id"],
            "output": raw["output"],
            "status": "completed",
        }
    if not isinstance(kind, str):
        raise invalid(f"Missing required parameter: '{param}.type'.", f"{param}.type")
    # Other output items passed back (web_search_call, reasoning, mcp_call, …) are kept as sent.
    return {**raw, "id": raw.get("id") or hex_id(kind.split("_")[0])}


def _resolve_reference(raw: Item, lookup: ItemLookup, param: str) -> Item:
    item_id = raw.get("id")
    found = lookup(item_id) if isinstance(item_id, str) else None
    if found is None:
        raise ApiError(404, f"Item with id '{item_id}' not found.", param=f"{param}.id")
    return found


def _normalize_message(raw: Item, param: str) -> Item:
    role = raw.get("role")
    if role not in (*INPUT_ROLES, "assistant"):
        raise invalid(
            f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', "
            "'developer', and 'user'.",
            f"{param}.role",
        )
    content = raw.get("content")
    if isinstance(content, str):
        parts: list[Any] = [{"type": "input_text", "text": content}]
    elif isinstance(content, list):
        parts = content
    else:
        raise invalid(f"Missing required parameter: '{param}.content'.", f"{param}.content")
    normalized = [
        _normalize_part(part, role == "assistant", f"{param}.content[{index}]")
        for index, part in enumerate(parts)
    ]
    return {
        "id": raw.get("id") or hex_id("msg"),
        "type": "message",
        "role": role,
        "status": "completed",
        "content": normalized,
    }


def _normalize_part(part: Any, assistant: bool, param: str) -> Item:
    if not isinstance(part, dict):
        raise invalid(f"Invalid type for '{param}': expected an object.", param)
    kind = part.get("type")
    if kind in _TEXT_PART_TYPES:
        if not isinstance(part.get("text"), str):
            raise invalid(f"Missing required parameter: '{param}.text'.", f"{param}.text")
        if assistant:
            return {"type": "output_text", "text": part["text"], "annotations": [], "logprobs": []}
        return {"type": "input_text", "text": part["text"]}
    if kind == "refusal" and assistant and isinstance(part.get("refusal"), str):
        return {"type": "refusal", "refusal": part["refusal"]}
    if kind == "input_image" and not assistant:
        if not part.get("image_url") and not part.get("file_id"):
            raise invalid(f"'{param}' needs an image_url or a file_id.", param)
        detail = part.get("detail") if part.get("detail") in _IMAGE_DETAILS else "auto"
        image: Item = {"type": "input_image", "detail": detail}
        for key in ("image_url", "file_id"):
            if isinstance(part.get(key), str):
                image[key] = part[key]
        return image
    if kind == "input_file" and not assistant:
        if not any(isinstance(part.get(key), str) for key in ("file_id", "file_url", "file_data")):
            raise invalid(f"'{param}' needs a file_id, a file_url or file_data.", param)
        document: Item = {"type": "input_file"}
        for key in ("file_id", "file_url", "file_data", "filename"):
            if isinstance(part.get(key), str):
                document[key] = part[key]
        if part.get("detail") in _FILE_DETAILS:
            document["detail"] = part["detail"]
        return document
    raise invalid(f"Invalid value: '{kind}' is not a supported content type here.", f"{param}.type")


def is_user_message(item: Item) -> bool:
    return item.get("type") == "message" and item.get("role") == "user"


def message_text(item: Item) -> str:
    """The text parts of a message joined with spaces."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    texts = [
        part["text"]
        for part in content or []
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    ]
    return " ".join(texts)


def item_text(item: Item) -> str:
    """Whatever text an item carries, for token counting."""
    kind = item.get("type")
    if kind == "message":
        return message_text(item)
    if kind == "function_call":
        return f"{item.get('name', '')} {item.get('arguments', '')}"
    if kind == "function_call_output":
        return output_text_of(item.get("output"))
    return ""


def output_text_of(output: Any) -> str:
    """A function_call_output's output as text (it may be a string or a list of parts)."""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return " ".join(
            part.get("text", "")
            for part in output
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def count_words(text: str) -> int:
    return len(text.split())


def count_tokens(items: Iterable[Item]) -> int:
    return sum(count_words(item_text(item)) for item in items)


def raw_last_user_text(raw: Any) -> str | None:
    """The last user message's text of an un-normalized `input` (for the request log)."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, list):
        return None
    for entry in reversed(raw):
        if isinstance(entry, dict) and entry.get("role") == "user":
            if entry.get("type", "message") != "message":
                continue
            return message_text(entry)
    return None
