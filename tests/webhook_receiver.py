"""A webhook receiver for tests, run as its own process:
`python -m tests.webhook_receiver --port P --record FILE --answers 500,500,200`.

Each POST is appended to FILE as one JSON line (its headers, its body as text, when it came) and
answered with the next status of --answers (the last one again once they run out); `hang`
answers nothing for a minute, as a receiver stuck mid-delivery.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HANG_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--answers", default="200")
    args = parser.parse_args()
    answers = args.answers.split(",")
    served = 0
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            nonlocal served
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                answer = answers[min(served, len(answers) - 1)]
                served += 1
                line = {"headers": dict(self.headers), "body": body.decode(), "at": time.time()}
                with args.record.open("a") as record:
                    record.write(json.dumps(line) + "\n")
            if answer == "hang":
                time.sleep(HANG_SECONDS)
                return
            self.send_response(int(answer))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
