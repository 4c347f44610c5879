"""Through the queue and the offline upstream, a caller's own tool is called when the message
shares a content word with it; the job waits in requires_action for its output. (tool_choice
is checked against the offline upstream directly, in tests/offline_openai.)"""

from __future__ import annotations

import json
import uuid

import httpx

from tests.integration.conftest import wait_for_job

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


def submit(api: httpx.Client, user: str, **body: object) -> dict[str, object]:
    response = api.post("/v1/responses", json={"user_id": user, **body})
    assert response.status_code == 202, response.text
    return wait_for_job(api, str(response.json()["id"]), user)


def test_a_callers_own_tool_parks_the_job_and_its_output_finishes_it(api: httpx.Client) -> None:
    user = f"bookings-{uuid.uuid4().hex[:8]}"
    waiting = submit(api, user, input="Please cancel my booking 5521", tools=[CANCEL_BOOKING])
    assert waiting["status"] == "requires_action", waiting
    [call] = waiting["required_action"]["tool_calls"]  # type: ignore[index]
    assert call["name"] == "cancel_booking"
    assert json.loads(call["arguments"])["booking_ref"] == 5521

    resumed = api.post(
        f"/v1/jobs/{waiting['id']}/tool_outputs",
        json={
            "user_id": user,
            "tool_outputs": [{"call_id": call["call_id"], "output": "cancelled"}],
        },
    )
    assert resumed.status_code == 200, resumed.text
    done = wait_for_job(api, str(waiting["id"]), user)
    assert done["status"] == "completed", done
    assert "The cancel_booking tool says: cancelled" in done["result"]["output_text"]  # type: ignore[index]
