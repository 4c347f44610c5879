"""The original multi-user app's API as a drop-in: its curl lines, with a base URL and a token."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import create_engine, update

from shared.core.clock import utcnow
from shared.core.models import Conversation
from tests.harness import Stack
from tests.integration.conftest import wait_for_job


def new_user() -> str:
    return f"compat-{uuid.uuid4().hex[:8]}"


def post_chat(api: httpx.Client, user: str, message: str, **fields: str) -> httpx.Response:
    # curl -X POST $API/chat -H "Content-Type: application/json" \
    #   -d '{"user_id": "alice", "message": "Hello!"}'
    return api.post("/chat", json={"user_id": user, "message": message, **fields})


def test_the_original_chat_flow_through_the_queue(api: httpx.Client) -> None:
    user = new_user()
    first = post_chat(api, user, "Hello! my name is Ada")
    assert first.status_code == 200, first.text
    reply = first.json()
    assert set(reply) == {"conversation_id", "response_id", "reply"}
    assert reply["reply"].startswith("[offline turn 1]")
    conversation_id = reply["conversation_id"]

    second = post_chat(api, user, "What is my name?", conversation_id=conversation_id)
    assert second.status_code == 200, second.text
    assert second.json()["conversation_id"] == conversation_id
    assert second.json()["reply"].startswith("[offline turn 2]") and "Ada" in second.json()["reply"]

    # Each message went through the queue as a job.
    jobs = api.get("/v1/jobs", params={"user_id": user, "conversation_id": conversation_id})
    assert [job["kind"] for job in jobs.json()["data"]] == ["chat", "chat"]

    # curl "$API/conversations?user_id=alice&status=active"
    listed = api.get("/conversations", params={"user_id": user, "status": "active"})
    assert listed.status_code == 200
    [record] = listed.json()
    assert record["conversation_id"] == conversation_id
    assert record["user_id"] == user and record["status"] == "active"
    created = datetime.fromisoformat(record["created_at"])
    assert created.utcoffset() == timedelta(0) and record["closed_at"] is None
    assert api.get("/conversations", params={"user_id": user, "status": "closed"}).json() == []

    # curl "$API/responses/CONVERSATION_ID?user_id=alice"
    responses = api.get(f"/responses/{conversation_id}", params={"user_id": user}).json()
    assert [r["response_id"] for r in responses] == [
        reply["response_id"],
        second.json()["response_id"],
    ]
    assert [r["message"] for r in responses] == ["Hello! my name is Ada", "What is my name?"]
    assert responses[1]["reply"] == second.json()["reply"]

    # curl -X POST $API/conversations/CONVERSATION_ID/close
    closed = api.post(f"/conversations/{conversation_id}/close", json={"user_id": user})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None
    refused = post_chat(api, user, "Still there?", conversation_id=conversation_id)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conversation_closed"


def test_an_idle_conversation_is_expired_at_the_next_request_with_409(
    api: httpx.Client, stack: Stack
) -> None:
    user = new_user()
    conversation_id = post_chat(api, user, "Hello!").json()["conversation_id"]
    engine = create_engine(stack.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(last_active_at=utcnow() - timedelta(hours=2))
            )
    finally:
        engine.dispose()
    # Before any sweep has run, the list already shows it expired, as the original did.
    expired = api.get("/conversations", params={"user_id": user, "status": "expired"}).json()
    assert [c["conversation_id"] for c in expired] == [conversation_id]
    assert expired[0]["status"] == "expired"
    assert api.get("/conversations", params={"user_id": user, "status": "active"}).json() == []
    refused = post_chat(api, user, "Hello again", conversation_id=conversation_id)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "conversation_expired"


def test_a_slow_reply_answers_202_with_the_job_to_poll(
    api: httpx.Client, upstream: httpx.Client
) -> None:
    user = new_user()
    upstream.put("/_offline/config", json={"latency_ms": 7000})
    try:
        slow = post_chat(api, user, "Take your time")
    finally:
        upstream.put("/_offline/config", json={"latency_ms": 0})
    assert slow.status_code == 202, slow.text
    job = slow.json()
    assert job["object"] == "job" and job["status"] in ("queued", "in_progress")
    assert slow.headers["Location"] == f"/v1/jobs/{job['id']}"
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed"
    [record] = api.get(f"/responses/{job['conversation_id']}", params={"user_id": user}).json()
    assert record["response_id"] == done["result"]["response_id"]


def test_the_same_auth_and_ownership_rules_as_v1(api: httpx.Client, stack: Stack) -> None:
    owner, stranger = new_user(), new_user()
    conversation_id = post_chat(api, owner, "Hello!").json()["conversation_id"]

    with httpx.Client(base_url=stack.api_url) as anonymous:
        for method, path in (
            ("POST", "/chat"),
            ("GET", "/conversations"),
            ("POST", f"/conversations/{conversation_id}/close"),
            ("GET", f"/responses/{conversation_id}"),
        ):
            answer = anonymous.request(method, path, json={"user_id": owner, "message": "hi"})
            assert answer.status_code == 401, (path, answer.text)
            assert answer.json()["error"]["code"] == "missing_token"

    assert api.get(f"/responses/{conversation_id}", params={"user_id": stranger}).status_code == 404
    assert (
        api.post(f"/conversations/{conversation_id}/close", json={"user_id": stranger}).status_code
        == 404
    )
    foreign = post_chat(api, stranger, "Hi", conversation_id=conversation_id)
    assert foreign.status_code == 404
    assert api.get("/conversations", params={"user_id": stranger}).json() == []

    no_user = api.post("/chat", json={"message": "Hello!"})
    assert no_user.status_code == 422 and no_user.json()["error"]["param"] == "user_id"
    no_message = api.post("/chat", json={"user_id": owner})
    assert no_message.status_code == 422 and no_message.json()["error"]["param"] == "message"

    # A user token acts as its own user, with or without user_id.
    token = stack.flask("tokens", "create", owner).strip()
    with stack.client(token=token) as own:
        mine = own.post("/chat", json={"message": "From my own token"})
        assert mine.status_code == 200, mine.text
        listed = own.get("/conversations").json()
        assert {c["conversation_id"] for c in listed} == {
            conversation_id,
            mine.json()["conversation_id"],
        }
