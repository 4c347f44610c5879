"""Function calling with a tool of the script's own: the model asks for `track_parcel`, this
script runs it, sends the result back, and prints the model's final answer."""

from __future__ import annotations

import json

from _gateway import connect, finished

PARCELS = {"7781": {"status": "in transit", "carrier": "PostNord", "eta": "2 days"}}
TRACK_PARCEL = {
    "type": "function",
    "name": "track_parcel",
    "description": "Track a parcel by its tracking number",
    "parameters": {
        "type": "object",
        "properties": {"tracking_number": {"type": "string", "description": "e.g. '7781'"}},
        "required": ["tracking_number"],
        "additionalProperties": False,
    },
    "strict": True,
}


def track_parcel(tracking_number: str) -> dict[str, str]:
    return PARCELS.get(tracking_number, {"status": "no parcel with that number"})


with connect() as gateway:
    job = finished(gateway.respond("Where is my parcel 7781?", tools=[TRACK_PARCEL]))
    while job.status == "requires_action":
        outputs = []
        for call in job.tool_calls:
            arguments = json.loads(call["arguments"])
            print(f"the model calls {call['name']}({arguments})")
            result = track_parcel(**arguments)
            outputs.append({"call_id": call["call_id"], "output": json.dumps(result)})
        job = finished(job.submit_tool_outputs(outputs))
    print(job.output_text)
