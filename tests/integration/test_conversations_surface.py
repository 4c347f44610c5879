"""The multi-user chat surface: conversations, history, responses, jobs; users see only theirs."""

from __future__ import annotations

import uuid

import httpx

from tests.harness import Stack, wait_until
from tests.integration.conftest import chat, wait_for_job


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def test_conversation_history_and_stored_responses(api: httpx.Client) -> None:
    user = new_user()
    first = chat(api, user, "First message")
    conversation_id = first["conversation_id"]
    wait_for_job(api, first["id"], user)
    second = chat(api, user, "Second message", conversation_id=conversation_id)
    done = wait_for_job(api, second["id"], user)

    history = api.get(
        f"/v1/conversations/{conversation_id}/responses", params={"user_id": user}
    ).json()
    texts = [item["output_text"] for item in history["data"]]
    assert [t.split("]")[0] for t in texts] == ["[offline turn 1", "[offline turn 2"]
    stored = api.get(f"/v1/responses/{done['result']['response_id']}", params={"user_id": user})
    assert stored.status_code == 200
    assert stored.json()["output_text"] == done["result"]["output_text"]
    assert stored.json()["conversation_id"] == conversation_id


def test_list_get_patch_and_close(api: httpx.Client, upstream: httpx.Client) -> None:
    user = new_user()
    jobs = [chat(api, user, f"conversation {n}") for n in range(3)]
    for job in jobs:
        wait_for_job(api, job["id"], user)
    ids = [job["conversation_id"] for job in jobs]

    listed = api.get("/v1/conversations", params={"user_id": user}).json()
    assert [c["id"] for c in listed["data"]] == list(reversed(ids))
    page = api.get("/v1/conversations", params={"user_id": user, "limit": 2}).json()
    assert page["has_more"] and len(page["data"]) == 2
    rest = api.get("/v1/conversations", params={"user_id": user, "after": page["last_id"]}).json()
    assert [c["id"] for c in rest["data"]] == [ids[0]]

    patched = api.patch(
        f"/v1/conversations/{ids[0]}", json={"user_id": user, "metadata": {"topic": "tests"}}
    )
    assert patched.status_code == 200 and patched.json()["metadata"] == {"topic": "tests"}
    assert api.get(f"/v1/conversations/{ids[0]}", params={"user_id": user}).json()["metadata"] == {
        "topic": "tests"
    }

    closed = api.post(f"/v1/conversations/{ids[1]}/close", json={"user_id": user})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    refused = api.post(
        "/v1/chat", json={"message": "more", "user_id": user, "conversation_id": ids[1]}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conversation_closed"

    only_closed = api.get("/v1/conversations", params={"user_id": user, "status": "closed"})
    assert [c["id"] for c in only_closed.json()["data"]] == [ids[1]]
    only_active = api.get("/v1/conversations", params={"user_id": user, "status": "active"})
    assert {c["id"] for c in only_active.json()["data"]} == {ids[0], ids[2]}


def test_metadata_reaches_the_upstream_conversation(stack: Stack, api: httpx.Client) -> None:
    user = new_user()
    job = chat(api, user, "hello")
    wait_for_job(api, job["id"], user)
    api.patch(
        f"/v1/conversations/{job['conversation_id']}",
        json={"user_id": user, "metadata": {"colour": "teal"}},
    )
    # The upstream conversation's id is ours to find only through the offline upstream's log.
    with stack.upstream() as upstream:
        request = next(
            r
            for r in upstream.get("/_offline/stats").json()["requests"]
            if r["job_id"] == job["id"]
        )
        upstream_id = request["conversation"]
        wait_until(
            lambda: (
                upstream.get(
                    f"/v1/conversations/{upstream_id}", headers={"Authorization": "Bearer x"}
                )
                .json()["metadata"]
                .get("colour")
                == "teal"
            ),
            what="upstream metadata",
        )


def test_delete_removes_the_conversation(api: httpx.Client) -> None:
    user = new_user()
    job = chat(api, user, "to be deleted")
    wait_for_job(api, job["id"], user)
    deleted = api.delete(f"/v1/conversations/{job['conversation_id']}", params={"user_id": user})
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    gone = api.get(f"/v1/conversations/{job['conversation_id']}", params={"user_id": user})
    assert gone.status_code == 404


def test_jobs_list_filters_by_status_and_conversation(api: httpx.Client) -> None:
    user = new_user()
    first = chat(api, user, "one")
    second = chat(api, user, "two")
    for job in (first, second):
        wait_for_job(api, job["id"], user)
    listed = api.get("/v1/jobs", params={"user_id": user}).json()["data"]
    assert [j["id"] for j in listed] == [second["id"], first["id"]]
    by_conversation = api.get(
        "/v1/jobs", params={"user_id": user, "conversation_id": first["conversation_id"]}
    ).json()["data"]
    assert [j["id"] for j in by_conversation] == [first["id"]]
    assert api.get("/v1/jobs", params={"user_id": user, "status": "queued"}).json()["data"] == []


def test_users_never_see_each_others_data(stack: Stack, api: httpx.Client) -> None:
    owner, stranger = new_user(), new_user()
    job = chat(api, owner, "private")
    done = wait_for_job(api, job["id"], owner)
    conversation_id = job["conversation_id"]
    response_id = done["result"]["response_id"]
    file_id = api.post(
        "/v1/files", data={"user_id": owner}, files={"file": ("a.txt", b"secret notes")}
    ).json()["id"]
    outputs = {"tool_outputs": [{"call_id": "call_1", "output": "x"}]}
    for method, path, kwargs in [
        ("GET", f"/v1/jobs/{job['id']}", {}),
        ("GET", f"/v1/jobs/{job['id']}/events", {}),
        ("POST", f"/v1/jobs/{job['id']}/cancel", {"json": {}}),
        ("POST", f"/v1/jobs/{job['id']}/tool_outputs", {"json": outputs}),
        ("GET", f"/v1/files/{file_id}", {}),
        ("DELETE", f"/v1/files/{file_id}", {}),
        ("GET", f"/v1/conversations/{conversation_id}", {}),
        ("PATCH", f"/v1/conversations/{conversation_id}", {"json": {"metadata": {}}}),
        ("POST", f"/v1/conversations/{conversation_id}/close", {"json": {}}),
        ("DELETE", f"/v1/conversations/{conversation_id}", {}),
        ("GET", f"/v1/conversations/{conversation_id}/responses", {}),
        ("GET", f"/v1/responses/{response_id}", {}),
    ]:
        if "json" in kwargs:
            kwargs["json"]["user_id"] = stranger
            response = api.request(method, path, **kwargs)
        else:
            response = api.request(method, path, params={"user_id": stranger})
        assert response.status_code == 404, (method, path, response.text)
    foreign = api.post(
        "/v1/chat", json={"message": "x", "user_id": stranger, "conversation_id": conversation_id}
    )
    assert foreign.status_code == 404
    assert api.get("/v1/jobs", params={"user_id": stranger}).json()["data"] == []
    assert api.get("/v1/conversations", params={"user_id": stranger}).json()["data"] == []
    # A user token acts as its own user only.
    token = stack.flask("tokens", "create", f"person-{uuid.uuid4().hex[:6]}")
    with stack.client(token) as own:
        assert own.get(f"/v1/jobs/{job['id']}").status_code == 404
        assert own.get("/v1/jobs").json()["data"] == []
        mine = own.post("/v1/chat", json={"message": "mine"})
        assert mine.status_code == 202
        assert (
            own.get(f"/v1/jobs/{mine.json()['id']}", params={"wait": 10}).json()["status"]
            == "completed"
        )
