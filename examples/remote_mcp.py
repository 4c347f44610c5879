"""Remote MCP: the script starts a small MCP server of its own (a dice roller, JSON-RPC over
streamable HTTP on 127.0.0.1:8765, or MCP_EXAMPLE_PORT) and offers it to the model as an `mcp`
tool; the model lists its tools and calls one. The gateway accepts only servers on its
MCP_ALLOWED_URLS: with `make run`, put MCP_ALLOWED_URLS=http://127.0.0.1:8765/mcp in .env."""

from __future__ import annotations

import json
import os
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from _gateway import connect, finished

from client import InvalidRequest

PORT = int(os.environ.get("MCP_EXAMPLE_PORT", "8765"))
SERVER_URL = f"http://127.0.0.1:{PORT}/mcp"
ROLL = {
    "name": "roll",
    "description": "Roll dice, e.g. 2 dice of 6 sides",
    "inputSchema": {
        "type": "object",
        "properties": {"dice": {"type": "integer"}, "sides": {"type": "integer"}},
        "required": ["dice", "sides"],
    },
}


def handle(method: str, params: dict[str, Any]) -> dict[str, Any]:
    if method == "initialize":
        return {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "dice", "version": "1.0"},
        }
    if method == "tools/list":
        return {"tools": [ROLL]}
    if method == "tools/call":
        arguments = params.get("arguments") or {}
        dice = min(max(int(arguments.get("dice") or 1), 1), 20)
        sides = min(max(int(arguments.get("sides") or 6), 2), 100)
        rolls = [random.randint(1, sides) for _ in range(dice)]
        text = f"rolled {dice}d{sides}: {rolls} (total {sum(rolls)})"
        return {"content": [{"type": "text", "text": text}], "isError": False}
    raise KeyError(method)


class McpHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        message = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if "id" not in message:  # a notification: nothing to answer
            self.send_response(202)
            self.end_headers()
            return
        try:
            reply = {"result": handle(message["method"], message.get("params") or {})}
        except KeyError:
            reply = {"error": {"code": -32601, "message": f"no method {message['method']}"}}
        body = json.dumps({"jsonrpc": "2.0", "id": message["id"], **reply}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


server = ThreadingHTTPServer(("127.0.0.1", PORT), McpHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
try:
    with connect() as gateway:
        dice = {
            "type": "mcp",
            "server_label": "dice",
            "server_url": SERVER_URL,
            "allowed_tools": ["roll"],
            "require_approval": "never",
        }
        try:
            job = finished(gateway.respond("Roll 2 dice of 6 sides for me.", tools=[dice]))
        except InvalidRequest as refused:
            raise SystemExit(f"{refused.message} Add {SERVER_URL} to MCP_ALLOWED_URLS.") from None
        for item in job.result["output"] if job.result else []:
            if item["type"] == "mcp_list_tools":
                names = [tool["name"] for tool in item["tools"]]
                print(f"MCP server '{item['server_label']}' offers: {names}")
            elif item["type"] == "mcp_call":
                print(f"MCP call {item['name']}({item['arguments']}): {item['output']}")
        print(job.output_text)
finally:
    server.shutdown()
