"""A tiny reverse proxy that records what the model server is asked and what it answers.

It sits between LiteLLM and llama.cpp's server, so the tests can check the upstream requests
themselves (the second turn's messages) and the model's own text, not the model's prose. It
relays streamed answers chunk by chunk, and when its client goes away mid-stream it closes the
upstream connection too, so llama.cpp stops generating (it checks for a disconnect per token).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
        "host",
    }
)


@dataclass
class Exchange:
    """One request through the proxy and what came back."""

    method: str
    path: str
    body: Any
    started: float = field(default_factory=time.monotonic)
    status: int | None = None
    answer: str = ""
    finish_reason: str | None = None
    done: bool = False
    client_left: bool = False
    ended: float | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        return list(messages or [])

    def mentions(self, text: str) -> bool:
        """Whether any message of this request has `text` in its content."""
        return any(text in json.dumps(m.get("content"), ensure_ascii=False) for m in self.messages)


class _Recorder:
    """Assembles the answer of a chat completion, streamed (SSE) or not."""

    def __init__(self, exchange: Exchange, streamed: bool) -> None:
        self.exchange = exchange
        self.streamed = streamed
        self.buffer = b""

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        if not self.streamed:
            return
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            self._sse_line(line.strip())

    def close(self) -> None:
        if self.streamed:
            self._sse_line(self.buffer.strip())
            return
        with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
            choice = json.loads(self.buffer)["choices"][0]
            self.exchange.answer = choice["message"].get("content") or ""
            self.exchange.finish_reason = choice.get("finish_reason")

    def _sse_line(self, line: bytes) -> None:
        if not line.startswith(b"data:"):
            return
        data = line[5:].strip()
        if data == b"[DONE]":
            return
        with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
            choice = json.loads(data)["choices"][0]
            self.exchange.answer += choice.get("delta", {}).get("content") or ""
            self.exchange.finish_reason = choice.get("finish_reason") or self.exchange.finish_reason


class RecordingProxy:
    """Serves on a free loopback port and forwards everything to `target` (scheme://host:port)."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=httpx.Timeout(600.0, connect=5.0))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RecordingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def mark(self) -> int:
        """A position in the record: pass it to `chat_completions(since=…)`."""
        with self._lock:
            return len(self.exchanges)

    def chat_completions(self, since: int = 0) -> list[Exchange]:
        with self._lock:
            seen = self.exchanges[since:]
        return [e for e in seen if e.path.rstrip("/").endswith("/chat/completions")]

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy._forward(self)

            def do_POST(self) -> None:
                proxy._forward(self)

            def do_DELETE(self) -> None:
                proxy._forward(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        exchange = Exchange(handler.command, handler.path, body)
        self._record(exchange)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        request = self._client.build_request(
            handler.command, self.target + handler.path, headers=headers, content=raw
        )
        try:
            upstream = self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            exchange.status, exchange.done, exchange.ended = 502, True, time.monotonic()
            handler.send_error(502, f"model server unreachable: {exc}")
            return
        exchange.status = upstream.status_code
        streamed = upstream.headers.get("content-type", "").startswith("text/event-stream")
        recorder = _Recorder(exchange, streamed)
        try:
            handler.send_response(upstream.status_code)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    handler.send_header(key, value)
            handler.send_header("Connection", "close")
            handler.end_headers()
            for chunk in upstream.iter_raw():
                recorder.feed(chunk)
                handler.wfile.write(chunk)
                handler.wfile.flush()
            exchange.done = True
        except (BrokenPipeError, ConnectionResetError):
            exchange.client_left = True  # closing the upstream stream stops the generation
        except httpx.HTTPError:
            pass  # the model server broke the stream; our client sees the close
        finally:
            upstream.close()
            recorder.close()
            exchange.ended = time.monotonic()
