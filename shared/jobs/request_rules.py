"""Checks on a request that need more than its shape: tools the gateway allows, files the
caller owns. They run before anything is stored or queued."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from shared.core.errors import InvalidInput
from shared.core.settings import get_settings
from shared.files import list_owned_ids
from shared.jobs.tool_catalog import SERVER_TOOL_NAMES


def check_tools(tools: list[Any] | None) -> None:
    allowed_mcp = {url.rstrip("/") for url in get_settings().MCP_ALLOWED_URLS}
    for index, tool in enumerate(tools or []):
        param = f"tools.{index}"
        if isinstance(tool, str):
            if tool not in SERVER_TOOL_NAMES:
                known = ", ".join(sorted(SERVER_TOOL_NAMES))
                raise InvalidInput(
                    "unknown_tool", f"No server tool named {tool!r}; known: {known}.", param
                )
        elif tool["type"] == "function" and tool["name"] in SERVER_TOOL_NAMES:
            raise InvalidInput(
                "tool_name_taken",
                f"{tool['name']!r} is a server tool; name it as a string or rename yours.",
                param,
            )
        elif tool["type"] == "mcp" and tool["server_url"].rstrip("/") not in allowed_mcp:
            raise InvalidInput(
                "mcp_server_not_allowed",
                "This MCP server URL is not on the gateway's MCP_ALLOWED_URLS list.",
                f"{param}.server_url",
            )


def file_parts(input_value: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """The content parts of an input that name a file by id, each with its param path."""
    if isinstance(input_value, list):
        for i, message in enumerate(input_value):
            content = message.get("content")
            if isinstance(content, list):
                for j, part in enumerate(content):
                    if part.get("file_id"):
                        yield part, f"input.{i}.content.{j}.file_id"


def check_files(user_id: str, input_value: Any) -> None:
    wanted = [(part["file_id"], param) for part, param in file_parts(input_value)]
    if not wanted:
        return
    owned = list_owned_ids(user_id, [file_id for file_id, _ in wanted])
    for file_id, param in wanted:
        if file_id not in owned:
            raise InvalidInput("unknown_file", f"No file {file_id!r} of yours.", param)


def check_text_format(text: dict[str, Any] | None) -> None:
    schema_format = (text or {}).get("format") or {}
    if schema_format.get("type") != "json_schema":
        return
    schema = schema_format["schema"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise _invalid_schema(f"text.format.schema is not a JSON Schema: {exc.message}") from None
    # check_schema takes any $ref; the answer could not be checked against one that leads nowhere.
    registry: Registry[Any] = Registry().with_resource(
        _SCHEMA_URI, DRAFT202012.create_resource(schema)
    )
    resolver = registry.resolver(_SCHEMA_URI)
    for ref in _refs(schema):
        try:
            resolver.lookup(ref)
        except (Unresolvable, ValueError):  # ValueError: a pointer into a list, a malformed URI
            raise _invalid_schema(
                f"text.format.schema: $ref {ref!r} names nothing in the schema "
                "(only references within it, such as #/$defs/name, are followed)."
            ) from None


_SCHEMA_URI = "urn:gateway:text-format-schema"


def _invalid_schema(message: str) -> InvalidInput:
    return InvalidInput("invalid_json_schema", message, "text.format.schema")


# Keywords whose values are data, not schemas: a "$ref" key inside them is no reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            elif key not in _DATA_KEYWORDS:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)
