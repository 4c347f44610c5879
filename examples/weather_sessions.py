"""The weather assistant with sessions: one conversation for the whole session, its context
kept upstream, so a follow-up question ("and tomorrow?") knows what was asked before."""

from __future__ import annotations

import argparse

from _gateway import connect, finished, questions

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--once", metavar="QUESTION", help="answer this one question and exit")
parser.add_argument("--conversation", help="continue this conversation (conv_…)")
args = parser.parse_args()

with connect() as gateway:
    conversation = args.conversation
    for question in questions(args.once):
        job = finished(gateway.chat(question, conversation_id=conversation, tools=["get_weather"]))
        conversation = job.conversation_id
        print(f"Assistant: {job.output_text}")
    print(f"(session {conversation})")
