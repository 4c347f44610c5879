"""Remote MCP on loopback: the offline upstream lists an MCP server's tools and calls the one the
message asks for, over streamable HTTP (JSON-RPC; JSON or Server-Sent Events answers). Servers
elsewhere are never contacted: the offline upstream stays off the network."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from offline_openai.ids import hex_id
from offline_openai.tool_calls import tool_arguments
from offline_openai.words import content_words

Item = dict[str, Any]

PROTOCOL_VERSION = "2025-06-18"
TIMEOUT_SECONDS = 5.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class McpError(Exception):
    """The server could not be reached or answered something that is not MCP."""


def is_loopback(url: Any) -> bool:
    return isinstance(url, str) and urlsplit(url).hostname in _LOOPBACK


def mcp_items(label: str, url: str, allowed: list[str], text: str) -> list[Item]:
    """An `mcp_list_tools` item and, when the message asks for one of them, an `mcp_call`."""
    try:
        with _Session(url) as session:
            tools = [
                tool for tool in session.list_tools() if not allowed or tool["name"] in allowed
            ]
            listing = _listing(label, tools, None)
            tool = _chosen(tools, text, allowed)
            if tool is None:
                return [listing]
            arguments = tool_arguments(tool.get("inputSchema"), text)
            output, failed = session.call(tool["name"], arguments)
    except McpError as exc:
        return [_listing(label, [], f"The MCP server '{label}' could not be used: {exc}")]
    call = {
        "id": hex_id("mcp"),
        "type": "mcp_call",
        "server_label": label,
        "name": tool["name"],
        "arguments": json.dumps(arguments),
        "output": output,
        "error": None,
        "status": "failed" if failed else "completed",
    }
    return [listing, call]


def _listing(label: str, tools: list[dict[str, Any]], error: str | None) -> Item:
    return {
        "id": hex_id("mcpl"),
        "type": "mcp_list_tools",
        "server_label": label,
        "tools": [
            {
                "name": tool["name"],
                "description": tool.get("description"),
                "input_schema": tool.get("inputSchema") or {"type": "object"},
                "annotations": tool.get("annotations"),
            }
            for tool in tools
        ],
        "error": error,
    }


def _chosen(tools: list[dict[str, Any]], text: str, allowed: list[str]) -> dict[str, Any] | None:
    """The tool sharing a content word with the message; else the only allowed tool."""
    asked = content_words(text)
    for tool in tools:
        if asked & content_words(f"{tool['name']} {tool.get('description') or ''}"):
            return tool
    return tools[0] if len(allowed) == 1 and tools else None


class _Session:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
        self.headers = {"Accept": "application/json, text/event-stream"}
        self.next_id = 0

    def __enter__(self) -> _Session:
        client = {"name": "offline_openai", "version": "1"}
        params = {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": client}
        self.request("initialize", params)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()

    def list_tools(self) -> list[dict[str, Any]]:
        tools = self.request("tools/list", {}).get("tools")
        if not isinstance(tools, list):
            raise McpError("tools/list answered no list of tools")
        return [
            tool for tool in tools if isinstance(tool, dict) and isinstance(tool.get("name"), str)
        ]

    def call(self, name: str, arguments: Any) -> tuple[str, bool]:
        result = self.request("tools/call", {"name": name, "arguments": arguments})
        content = result.get("content")
        parts = content if isinstance(content, list) else []
        text = "\n".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
        return text, bool(result.get("isError"))

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        response = self.send(
            {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        )
        for message in _messages(response):
            if message.get("id") != self.next_id:
                continue
            if "error" in message:
                raise McpError(f"{method}: {message['error'].get('message', message['error'])}")
            result = message.get("result")
            return result if isinstance(result, dict) else {}
        raise McpError(f"{method} was not answered")

    def send(self, message: dict[str, Any]) -> httpx.Response:
        try:
            response = self.http.post(self.url, json=message, headers=self.headers)
        except httpx.HTTPError as exc:
            raise McpError(f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise McpError(f"HTTP {response.status_code}")
        session = response.headers.get("Mcp-Session-Id")
        if session:
            self.headers["Mcp-Session-Id"] = session
        return response


def _messages(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of an answer: a JSON body, or the `data:` of each SSE event."""
    if response.headers.get("Content-Type", "").startswith("text/event-stream"):
        bodies = [
            line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")
        ]
    else:
        bodies = [response.text]
    messages: list[dict[str, Any]] = []
    for body in bodies:
        try:
            parsed = json.loads(body)
        except ValueError:
            raise McpError("the answer is not JSON") from None
        for message in parsed if isinstance(parsed, list) else [parsed]:
            if isinstance(message, dict):
                messages.append(message)
    return messages
