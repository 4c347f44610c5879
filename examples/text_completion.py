"""Text completion: one question, the model's answer printed."""

from __future__ import annotations

from _gateway import connect, finished

with connect() as gateway:
    job = finished(gateway.respond("Write a one-sentence bedtime story about a unicorn."))
    print(job.output_text)
