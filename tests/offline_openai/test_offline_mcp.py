"""A remote MCP server on loopback is really used: its tools are listed and the one the message
asks for is called (over streamable HTTP, answered as Server-Sent Events here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from offline_helpers import MODEL
from openai import OpenAI

TOOLS = [
    {
        "name": "convert_currency",
        "description": "Convert an amount of money between currencies",
        "inputSchema": {
            "type": "object",
            "properties": {"amount": {"type": "number"}, "to": {"type": "string"}},
            "required": ["amount", "to"],
        },
    },
    {"name": "ping", "description": "Check the server", "inputSchema": {"type": "object"}},
]


class _McpServer(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(message["method"])
        if "id" not in message:
            self.send_response(202)
            self.end_headers()
            return
        params = message.get("params") or {}
        result: dict[str, Any] = {
            "initialize": {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}},
            "tools/list": {"tools": TOOLS},
            "tools/call": {
                "content": [{"type": "text", "text": f"converted {params.get('arguments')}"}]
            },
        }[message["method"]]
        answer = {"jsonrpc": "2.0", "id": message["id"], "result": result}
        body = f"event: message\ndata: {json.dumps(answer)}\n\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Mcp-Session-Id", "session-1")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def mcp_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _McpServer)
    _McpServer.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/mcp"
    server.shutdown()
    server.server_close()


def mcp_tool(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "mcp", "server_label": "money", "server_url": url, **extra}


def test_the_tool_the_message_asks_for_is_listed_and_called(client: OpenAI, mcp_url: str) -> None:
    response = client.responses.create(
        model=MODEL,
        input="Convert 12.5 amount to EUR",
        tools=[mcp_tool(mcp_url, require_approval="never")],
    )

    listing, call, _message = response.output
    assert listing.type == "mcp_list_tools" and listing.error is None
    assert [tool.name for tool in listing.tools] == ["convert_currency", "ping"]
    assert call.type == "mcp_call" and call.name == "convert_currency"
    assert json.loads(call.arguments)["amount"] == 12.5
    assert call.output is not None and call.output.startswith("converted {")
    assert "says: converted" in response.output_text
    assert _McpServer.seen == [
        "initialize",
        "notifications/initialized",
        "tools/list",
        "tools/call",
    ]


def test_allowed_tools_limit_the_listing(client: OpenAI, mcp_url: str) -> None:
    response = client.responses.create(
        model=MODEL, input="Anything new?", tools=[mcp_tool(mcp_url, allowed_tools=["ping"])]
    )
    listing, call = response.output[:2]
    assert [tool.name for tool in listing.tools] == ["ping"]
    assert call.name == "ping"


def test_a_server_that_does_not_answer_is_an_error_in_the_listing(client: OpenAI) -> None:
    response = client.responses.create(
        model=MODEL, input="Convert 3 amount", tools=[mcp_tool("http://127.0.0.1:9/mcp")]
    )
    listing = response.output[0]
    assert listing.type == "mcp_list_tools" and listing.tools == []
    assert "could not be used" in (listing.error or "")
