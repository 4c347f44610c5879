"""Create and retrieve: a response is made, then fetched again by its id."""

from __future__ import annotations

from _gateway import connect, finished

with connect() as gateway:
    job = finished(gateway.respond("Tell me a three-sentence story about a lighthouse."))
    response_id = job.result["response_id"] if job.result else ""
    print(f"created {response_id}")
    stored = gateway.response(response_id)
    print(f"retrieved {stored['id']}: {stored['output_text']}")
