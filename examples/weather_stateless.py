"""The stateless weather assistant: each question is answered on its own, with no memory of
earlier ones; the gateway's `get_weather` tool reads the weather."""

from __future__ import annotations

import argparse

from _gateway import connect, finished, questions

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--once", metavar="QUESTION", help="answer this one question and exit")
args = parser.parse_args()

with connect() as gateway:
    for question in questions(args.once):
        job = finished(gateway.respond(question, tools=["get_weather"]))
        print(f"Assistant: {job.output_text}")
