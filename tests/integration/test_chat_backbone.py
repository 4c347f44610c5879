"""Chat through the queue: submit, worker, upstream, poll."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.integration.conftest import chat, wait_for_job


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def test_chat_is_accepted_at_once_and_completes_through_the_worker(api: httpx.Client) -> None:
    user = new_user()
    response = api.post("/v1/chat", json={"message": "Hello there", "user_id": user})
    assert response.status_code == 202
    job = response.json()
    assert response.headers["Location"] == f"/v1/jobs/{job['id']}"
    assert response.headers["Retry-After"] == "1"
    assert job["object"] == "job" and job["status"] in ("queued", "in_progress")
    assert job["conversation_id"].startswith("conv_")
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed", done
    assert done["result"]["output_text"].startswith("[offline turn 1]")
    assert done["attempts"] == 1
    assert done["finished_at"] >= done["started_at"] >= done["created_at"]


def test_second_message_sees_the_first(api: httpx.Client) -> None:
    user = new_user()
    first = chat(api, user, "Hi, my name is Grace.")
    assert wait_for_job(api, first["id"], user)["status"] == "completed"
    second = chat(api, user, "What is my name?", conversation_id=first["conversation_id"])
    answer = wait_for_job(api, second["id"], user)["result"]["output_text"]
    assert answer.startswith("[offline turn 2]")
    assert "Grace" in answer


def test_prefer_wait_answers_200_with_the_finished_job(api: httpx.Client) -> None:
    user = new_user()
    response = api.post(
        "/v1/chat", json={"message": "quick one", "user_id": user}, headers={"Prefer": "wait=10"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


def test_jobs_of_one_conversation_run_one_at_a_time_in_submission_order(
    api: httpx.Client, upstream: httpx.Client
) -> None:
    user = new_user()
    first = chat(api, user, "message 0")
    conversation_id = first["conversation_id"]

    def submit(index: int) -> str:
        return str(chat(api, user, f"message {index}", conversation_id=conversation_id)["id"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        submitted = list(pool.map(submit, range(1, 11)))
    for job_id in [first["id"], *submitted]:
        assert wait_for_job(api, job_id, user)["status"] == "completed"

    listed = api.get(
        "/v1/jobs", params={"user_id": user, "conversation_id": conversation_id, "limit": 20}
    ).json()["data"]
    order_accepted = [job["id"] for job in reversed(listed)]
    assert sorted(order_accepted) == sorted([first["id"], *submitted])
    received = [
        entry["job_id"]
        for entry in upstream.get("/_offline/stats").json()["requests"]
        if entry["job_id"] in set(order_accepted)
    ]
    assert received == order_accepted
    turns = [job["result"]["output_text"].split("]")[0] for job in reversed(listed)]
    assert turns == [f"[offline turn {n}" for n in range(1, 12)]


def test_each_job_creates_exactly_one_upstream_response(
    api: httpx.Client, upstream: httpx.Client
) -> None:
    user = new_user()
    jobs = [chat(api, user, f"count me {n}") for n in range(5)]
    for job in jobs:
        wait_for_job(api, job["id"], user)
    by_job = upstream.get("/_offline/stats").json()["responses_created_by_job"]
    assert [by_job.get(job["id"]) for job in jobs] == [1] * 5


def test_the_worker_reuses_its_upstream_connections(
    api: httpx.Client, upstream: httpx.Client
) -> None:
    """A streamed response is read to its end, so its connection goes back to the pool; one
    left half-read is closed, and the next job would pay for a new connection (a TLS handshake
    with OpenAI)."""
    user = new_user()
    job_ids = []
    for n in range(8):  # one after another: each finds the last one's connection idle
        job_ids.append(chat(api, user, f"reuse {n}")["id"])
        assert wait_for_job(api, job_ids[-1], user)["status"] == "completed"
    ports = {
        entry["client_port"]
        for entry in upstream.get("/_offline/stats").json()["requests"]
        if entry["job_id"] in job_ids
    }
    # One connection, give or take those another test's job still held: not one a job.
    assert None not in ports and len(ports) <= 3, ports


def test_a_reply_holding_nul_is_stored_on_every_database(api: httpx.Client) -> None:
    user = new_user()
    job = chat(api, user, "nul \u0000 here")  # the offline model says it back
    done = wait_for_job(api, job["id"], user)
    assert done["status"] == "completed" and done["attempts"] == 1, done
    stored = api.get(f"/v1/responses/{done['result']['response_id']}", params={"user_id": user})
    assert stored.status_code == 200, stored.text
    assert "nul \ufffd here" in stored.json()["output_text"]


def test_an_id_holding_a_control_character_is_refused_not_looked_up(api: httpx.Client) -> None:
    user = new_user()
    for path in ("/v1/jobs/a%00b", "/v1/conversations/%00", "/v1/files/%1f", "/v1/responses/%00"):
        answer = api.get(path, params={"user_id": user})
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
    cursor = api.get("/v1/conversations", params={"user_id": user, "after": "0\u00a3\u0000"})
    assert cursor.status_code == 422 and cursor.json()["error"]["param"] == "after"
    refused = api.post("/v1/chat", json={"message": "hi", "user_id": user, "conversation_id": "\0"})
    assert refused.status_code == 422 and refused.json()["error"]["param"] == "conversation_id"
