"""Streaming: the reply is printed piece by piece as it is generated (Server-Sent Events)."""

from __future__ import annotations

from _gateway import connect

with connect() as gateway:
    job = gateway.respond("Say 'double bubble bath' ten times fast.")
    for event in job.events():
        if event.event == "output_text.delta":
            print(event.data["delta"], end="", flush=True)
    print()
    print(f"[{job.wait(30).status}]")
