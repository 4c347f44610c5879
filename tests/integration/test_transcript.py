"""A conversation's transcript, both sides, through real HTTP and a real worker."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from typing import Any

import httpx

from tests.integration.conftest import chat, wait_for_job
from tests.integration.test_files_events_cancel import PDF, PNG
from tests.integration.test_tools import CALLER_TOOL


def new_user() -> str:
    return f"transcript-{uuid.uuid4().hex[:8]}"


def messages(api: httpx.Client, user: str, conversation_id: str, **params: Any) -> httpx.Response:
    return api.get(
        f"/v1/conversations/{conversation_id}/messages", params={"user_id": user, **params}
    )


def respond_in_new_conversation(api: httpx.Client, user: str, **body: Any) -> dict[str, Any]:
    """A conversation with one chat turn, then a /v1/responses job in it (returned at once)."""
    first = chat(api, user, "Hello")
    wait_for_job(api, first["id"], user)
    response = api.post(
        "/v1/responses",
        json={"user_id": user, "conversation_id": first["conversation_id"], **body},
    )
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def compact(item: dict[str, Any]) -> tuple[str, str, str]:
    """(role, type, what it says) of a transcript item."""
    if item["type"] == "message":
        said = " + ".join(p.get("text") or p["name"] for p in item["content"])
    elif item["type"] == "function_call":
        said = f"{item['name']}({item['arguments']})"
    else:
        said = item.get("output", "")
    return item["role"], item["type"], said


def test_the_transcript_holds_both_sides_with_tool_calls_in_order(api: httpx.Client) -> None:
    user = new_user()
    first = chat(api, user, "Hello, my name is Ada")
    conversation_id = first["conversation_id"]
    wait_for_job(api, first["id"], user)
    second = chat(
        api,
        user,
        "What's the weather in Paris?",
        conversation_id=conversation_id,
        tools=["get_weather"],
    )
    done = wait_for_job(api, second["id"], user)
    assert done["status"] == "completed", done

    body = messages(api, user, conversation_id).json()
    items = body["data"]
    shown = [compact(item) for item in items]
    assert shown[0] == ("user", "message", "Hello, my name is Ada")
    assert shown[1][:2] == ("assistant", "message") and "Nice to meet you, Ada" in shown[1][2]
    assert shown[2] == ("user", "message", "What's the weather in Paris?")
    assert shown[3] == ("assistant", "function_call", 'get_weather({"city": "Paris"})')
    assert shown[4][:2] == ("tool", "function_call_output")
    assert json.loads(shown[4][2])["city"] == "Paris"
    assert shown[5][:2] == ("assistant", "message") and "21.4" in shown[5][2]
    assert len(items) == 6 and not body["has_more"]
    assert items[3]["call_id"] == items[4]["call_id"]
    assert [item["job_id"] for item in items] == [first["id"]] * 2 + [second["id"]] * 4
    assert items[0]["response_id"] is None
    assert items[5]["response_id"] == done["result"]["response_id"]
    assert [item["id"] for item in items] == [
        f"{first['id']}:0",
        f"{first['id']}:1",
        *(f"{second['id']}:{n}" for n in range(4)),
    ]
    assert all(a["created_at"] <= b["created_at"] for a, b in itertools.pairwise(items))


def test_the_transcript_pages_with_limit_and_after(api: httpx.Client) -> None:
    user = new_user()
    first = chat(api, user, "one")
    conversation_id = first["conversation_id"]
    jobs = [first] + [
        chat(api, user, word, conversation_id=conversation_id) for word in ("two", "three")
    ]
    for job in jobs:
        wait_for_job(api, job["id"], user)
    whole = messages(api, user, conversation_id).json()["data"]
    assert [compact(i)[2] for i in whole if i["role"] == "user"] == ["one", "two", "three"]

    seen: list[str] = []
    after = None
    while True:
        page = messages(api, user, conversation_id, limit=4, **({"after": after} if after else {}))
        body = page.json()
        assert len(body["data"]) <= 4
        seen += [item["id"] for item in body["data"]]
        if not body["has_more"]:
            break
        after = body["last_id"]
    assert seen == [item["id"] for item in whole]
    # A cursor in the middle of a job's items starts right after it.
    rest = messages(api, user, conversation_id, after=whole[2]["id"]).json()["data"]
    assert [item["id"] for item in rest] == [item["id"] for item in whole[3:]]


def test_images_and_files_are_shown_by_name(api: httpx.Client) -> None:
    user = new_user()
    pdf = api.post("/v1/files", data={"user_id": user}, files={"file": ("report.pdf", PDF)})
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    content = [
        {"type": "input_text", "text": "Compare these"},
        {"type": "input_file", "file_id": pdf.json()["id"]},
        {"type": "input_image", "image_url": "https://example.com/pics/cat.jpg"},
        {"type": "input_image", "image_url": data_url},
    ]
    submitted = respond_in_new_conversation(api, user, input=[{"role": "user", "content": content}])
    job = wait_for_job(api, submitted["id"], user)
    assert job["status"] == "completed", job
    conversation_id = job["conversation_id"]

    user_turn = messages(api, user, conversation_id).json()["data"][2]
    assert user_turn["role"] == "user"
    assert user_turn["content"] == [
        {"type": "input_text", "text": "Compare these"},
        {"type": "input_file", "file_id": pdf.json()["id"], "name": "report.pdf"},
        {"type": "input_image", "url": "https://example.com/pics/cat.jpg", "name": "cat.jpg"},
        {"type": "input_image", "name": "image.png"},
    ]


def test_a_caller_tool_output_is_in_the_transcript(api: httpx.Client) -> None:
    user = new_user()
    submitted = respond_in_new_conversation(
        api, user, input="What's the weather in Oslo?", tools=[CALLER_TOOL]
    )
    conversation_id = submitted["conversation_id"]
    waiting = wait_for_job(api, submitted["id"], user)
    assert waiting["status"] == "requires_action", waiting
    [call] = waiting["required_action"]["tool_calls"]
    parked = [compact(i) for i in messages(api, user, conversation_id).json()["data"]]
    assert parked[-1] == ("assistant", "function_call", 'lookup_weather({"city": "Oslo"})')

    api.post(
        f"/v1/jobs/{submitted['id']}/tool_outputs",
        json={"user_id": user, "tool_outputs": [{"call_id": call["call_id"], "output": "sunny"}]},
    )
    assert wait_for_job(api, submitted["id"], user)["status"] == "completed"
    shown = [compact(i) for i in messages(api, user, conversation_id).json()["data"]]
    assert shown[2:5] == [
        ("user", "message", "What's the weather in Oslo?"),
        ("assistant", "function_call", 'lookup_weather({"city": "Oslo"})'),
        ("tool", "function_call_output", "sunny"),
    ]
    assert shown[5][:2] == ("assistant", "message") and "sunny" in shown[5][2]


def test_another_users_transcript_is_404_and_a_bad_cursor_422(api: httpx.Client) -> None:
    user = new_user()
    job = chat(api, user, "mine")
    wait_for_job(api, job["id"], user)
    conversation_id = job["conversation_id"]
    stranger = messages(api, new_user(), conversation_id)
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "not_found"
    other = chat(api, user, "another conversation")
    for cursor in ("nonsense", f"{other['id']}:0", f"{job['id']}:x", ":1"):
        bad = messages(api, user, conversation_id, after=cursor)
        assert bad.status_code == 422, (cursor, bad.text)
        assert bad.json()["error"]["param"] == "after"
