"""Web search: the model may search the web (a hosted tool) before it answers."""

from __future__ import annotations

from _gateway import connect, finished

with connect() as gateway:
    job = finished(
        gateway.respond(
            "What was a positive news story from today?", tools=[{"type": "web_search"}]
        )
    )
    for item in job.result["output"] if job.result else []:
        if item["type"] == "web_search_call":
            print(f"searched the web: {item['action'].get('query', '')}")
    print(job.output_text)
