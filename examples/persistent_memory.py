"""Persistent memory: the conversation id is kept in a local file, so the next run of this
script continues the same conversation (a new one is started once it has expired or closed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from _gateway import connect, finished

from client import ConversationClosed, ConversationExpired, NotFound

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("message", nargs="?", default="Hello! My name is Ada. What is my name?")
parser.add_argument("--state-file", type=Path, default=Path("persistent_memory_conversation.txt"))
args = parser.parse_args()

with connect() as gateway:
    saved = args.state_file.read_text().strip() if args.state_file.exists() else None
    try:
        job = finished(gateway.chat(args.message, conversation_id=saved))
        print(f"continuing conversation {saved}" if saved else "new conversation")
    except (ConversationClosed, ConversationExpired, NotFound):
        job = finished(gateway.chat(args.message))
        print(f"conversation {saved} has ended; new conversation")
    args.state_file.write_text(f"{job.conversation_id}\n")
    print(f"conversation {job.conversation_id} (kept in {args.state_file})")
    print(f"assistant: {job.output_text}")
