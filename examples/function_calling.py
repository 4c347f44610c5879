"""Function calling with a tool of the script's own: the model asks for `lookup_order`, this
script runs it, sends the result back, and prints the model's final answer."""

from __future__ import annotations

import json

from _gateway import connect, finished

ORDERS = {"1234": {"status": "shipped", "carrier": "PostNord", "eta": "2 days"}}
LOOKUP_ORDER = {
    "type": "function",
    "name": "lookup_order",
    "description": "Look up an order status by order number",
    "parameters": {
        "type": "object",
        "properties": {"order_number": {"type": "string", "description": "e.g. '1234'"}},
        "required": ["order_number"],
        "additionalProperties": False,
    },
    "strict": True,
}


def lookup_order(order_number: str) -> dict[str, str]:
    return ORDERS.get(order_number, {"status": "unknown order"})


with connect() as gateway:
    job = finished(gateway.respond("Look up the status of order 1234", tools=[LOOKUP_ORDER]))
    while job.status == "requires_action":
        outputs = []
        for call in job.tool_calls:
            arguments = json.loads(call["arguments"])
            print(f"the model calls {call['name']}({arguments})")
            result = lookup_order(**arguments)
            outputs.append({"call_id": call["call_id"], "output": json.dumps(result)})
        job = finished(job.submit_tool_outputs(outputs))
    print(job.output_text)
