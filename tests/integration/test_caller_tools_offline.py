"""Through the queue and the offline upstream, a caller's own tool is called when the message
shares a content word with it; the job waits in requires_action for its output. (tool_choice
is checked against the offline upstream directly, in tests/offline_openai.)"""

from __future__ import annotations

import json
import uuid

from client import Gateway
from tests.harness import Stack

CANCEL_BOOKING = {
    "type": "function",
    "name": "cancel_booking",
    "description": "Cancel a hotel booking given its reference",
    "parameters": {
        "type": "object",
        "properties": {"booking_ref": {"type": "integer"}, "reason": {"type": "string"}},
        "required": ["booking_ref"],
    },
}


def test_a_callers_own_tool_parks_the_job_and_its_output_finishes_it(stack: Stack) -> None:
    user = f"bookings-{uuid.uuid4().hex[:8]}"
    with Gateway(stack.api_url, stack.token, user_id=user) as gateway:
        job = gateway.respond("Please cancel my booking 5521", tools=[CANCEL_BOOKING]).wait(30)
        assert job.status == "requires_action", job
        [call] = job.tool_calls
        assert call["name"] == "cancel_booking"
        assert json.loads(call["arguments"])["booking_ref"] == 5521

        done = job.submit_tool_outputs({call["call_id"]: "cancelled"}).wait(30)
    assert done.status == "completed", done
    assert "The cancel_booking tool says: cancelled" in done.output_text
