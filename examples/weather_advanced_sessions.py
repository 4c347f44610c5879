"""The weather assistant with full history kept locally: every turn is stored in a local JSON
file and the whole history is sent with each question (as the gateway's `local` history mode
does), so sessions survive restarts; `--history` prints a session's stored turns."""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path
from typing import Any

from _gateway import connect, finished, questions

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--once", metavar="QUESTION", help="answer this one question and exit")
parser.add_argument("--session", help="continue this session (its id)")
parser.add_argument("--store", type=Path, default=Path("weather_sessions.json"))
parser.add_argument("--history", action="store_true", help="print the session's turns and exit")
args = parser.parse_args()

store: dict[str, list[dict[str, Any]]] = (
    json.loads(args.store.read_text()) if args.store.exists() else {}
)
session = args.session or uuid.uuid4().hex[:12]
history = store.setdefault(session, [])

if args.history:
    for turn in history:
        print(f"{turn['role']}: {turn['content']}")
    raise SystemExit(0)

with connect() as gateway:
    for question in questions(args.once):
        history.append({"role": "user", "content": question})
        job = finished(gateway.respond(history, tools=["get_weather"]))
        history.append({"role": "assistant", "content": job.output_text})
        args.store.write_text(json.dumps(store, indent=2))
        print(f"Assistant: {job.output_text}")
print(f"(session {session}: {len(history)} turns in {args.store})")
