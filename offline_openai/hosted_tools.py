"""Hosted tools (web search, file search, remote MCP) answered as an offline upstream would."""

from __future__ import annotations

from typing import Any

from offline_openai.ids import hex_id
from offline_openai.mcp_client import is_loopback, mcp_items

Item = dict[str, Any]

_WEB_SEARCH_TYPES = (
    "web_search",
    "web_search_preview",
    "web_search_2025_08_26",
    "web_search_preview_2025_03_11",
)


def hosted_calls(
    query: str, tools: list[dict[str, Any]], tool_choice: Any, text: str = ""
) -> tuple[list[Item], str]:
    """Output items for the hosted tools on offer, and a short note for the reply (`query` is
    the message shortened for a search, `text` the whole message)."""
    if tool_choice == "none":
        return [], ""
    items: list[Item] = []
    notes: list[str] = []
    seen: set[str] = set()
    for tool in tools:
        kind = tool.get("type")
        if kind in _WEB_SEARCH_TYPES and "web" not in seen:
            seen.add("web")
            items.append(_web_search_call(query))
            notes.append(f'(offline web search: no results for "{query}")')
        elif kind == "file_search" and "file" not in seen:
            seen.add("file")
            items.append(
                {
                    "id": hex_id("fs"),
                    "type": "file_search_call",
                    "status": "completed",
                    "queries": [query],
                    "results": None,
                }
            )
            notes.append(f'(offline file search: no results for "{query}")')
        elif kind == "mcp":
            label = str(tool.get("server_label") or "mcp")
            if label in seen:
                continue
            seen.add(label)
            if is_loopback(tool.get("server_url")):
                contacted = mcp_items(label, tool["server_url"], _allowed_names(tool), text)
                items.extend(contacted)
                notes.append(_mcp_note(label, contacted))
            else:
                items.extend(_mcp_items(label, tool))
                notes.append(f"(offline MCP: the server '{label}' was not contacted)")
    return items, " ".join(notes)


def _web_search_call(query: str) -> Item:
    return {
        "id": hex_id("ws"),
        "type": "web_search_call",
        "status": "completed",
        "action": {"type": "search", "query": query, "queries": [query]},
    }


def _mcp_items(label: str, tool: dict[str, Any]) -> list[Item]:
    notice = f"The offline upstream did not contact the MCP server '{label}'."
    items: list[Item] = [
        {
            "id": hex_id("mcpl"),
            "type": "mcp_list_tools",
            "server_label": label,
            "tools": [],
            "error": notice,
        }
    ]
    names = _allowed_names(tool)
    if names:
        items.append(
            {
                "id": hex_id("mcp"),
                "type": "mcp_call",
                "server_label": label,
                "name": names[0],
                "arguments": "{}",
                "output": notice,
                "error": None,
                "status": "completed",
            }
        )
    return items


def _allowed_names(tool: dict[str, Any]) -> list[str]:
    allowed = tool.get("allowed_tools")
    if isinstance(allowed, dict):
        allowed = allowed.get("tool_names")
    return [name for name in allowed if isinstance(name, str)] if isinstance(allowed, list) else []


def _mcp_note(label: str, items: list[Item]) -> str:
    listing = items[0]
    if listing.get("error"):
        return f"({listing['error']})"
    if len(items) == 1:
        names = ", ".join(tool["name"] for tool in listing["tools"]) or "none"
        return f"(MCP server '{label}' offers these tools: {names})"
    call = items[1]
    return f"(MCP {call['name']} on '{label}' says: {call['output']})"
