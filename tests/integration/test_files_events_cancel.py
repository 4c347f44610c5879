"""Files and images as inputs, job events over SSE, and cancel."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx

from tests.harness import wait_until
from tests.integration.conftest import MAX_UPLOAD_BYTES, chat, wait_for_job

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def new_user() -> str:
    return f"files-{uuid.uuid4().hex[:8]}"


def upload(api: httpx.Client, user: str, name: str, content: bytes) -> httpx.Response:
    return api.post("/v1/files", data={"user_id": user}, files={"file": (name, content)})


def respond(api: httpx.Client, user: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    response = api.post(
        "/v1/responses",
        json={"user_id": user, "input": [{"role": "user", "content": content}]},
    )
    assert response.status_code == 202, response.text
    return wait_for_job(api, response.json()["id"], user)


def test_upload_read_and_delete_a_file(api: httpx.Client) -> None:
    user = new_user()
    created = upload(api, user, "report.pdf", PDF)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("file_") and body["media_type"] == "application/pdf"
    assert body["bytes"] == len(PDF) and body["filename"] == "report.pdf"
    assert api.get(f"/v1/files/{body['id']}", params={"user_id": user}).json() == body
    assert api.get(f"/v1/files/{body['id']}", params={"user_id": new_user()}).status_code == 404
    assert api.delete(f"/v1/files/{body['id']}", params={"user_id": user}).json()["deleted"]
    assert api.get(f"/v1/files/{body['id']}", params={"user_id": user}).status_code == 404


def test_wrong_types_and_sizes_are_refused(api: httpx.Client) -> None:
    user = new_user()
    wrong = upload(api, user, "tool.exe", b"MZ\x90\x00\x03\x00\x00\x00\xff\xff")
    assert wrong.status_code == 415 and wrong.json()["error"]["code"] == "unsupported_file_type"
    big = upload(api, user, "big.pdf", PDF + b"0" * MAX_UPLOAD_BYTES)
    assert big.status_code == 413
    not_multipart = api.post("/v1/files", json={"user_id": user})
    assert not_multipart.status_code == 415


def test_an_uploaded_pdf_and_image_reach_the_model_and_upload_once(
    api: httpx.Client, upstream: httpx.Client
) -> None:
    user = new_user()
    pdf = upload(api, user, "report.pdf", PDF).json()
    image = upload(api, user, "pixel.png", PNG).json()
    content = [
        {"type": "input_text", "text": "Summarise these"},
        {"type": "input_file", "file_id": pdf["id"]},
        {"type": "input_image", "file_id": image["id"]},
    ]
    done = respond(api, user, content)
    assert done["status"] == "completed", done
    assert "report.pdf" in done["result"]["output_text"]
    assert "pixel.png" in done["result"]["output_text"]
    respond(api, user, content)
    names = [
        f["filename"]
        for f in upstream.get("/v1/files", headers={"Authorization": "Bearer x"}).json()["data"]
    ]
    assert names.count("report.pdf") == 1 and names.count("pixel.png") == 1


def test_a_deleted_file_is_deleted_upstream_too(api: httpx.Client, upstream: httpx.Client) -> None:
    user = new_user()
    name = f"{user}.pdf"
    file_id = upload(api, user, name, PDF).json()["id"]
    done = respond(api, user, [{"type": "input_file", "file_id": file_id}])
    assert done["status"] == "completed", done

    def upstream_names() -> list[str]:
        answer = upstream.get("/v1/files", headers={"Authorization": "Bearer x"})
        return [f["filename"] for f in answer.json()["data"]]

    assert name in upstream_names()
    assert api.delete(f"/v1/files/{file_id}", params={"user_id": user}).status_code == 200
    wait_until(lambda: name not in upstream_names(), timeout=20, what="the upstream copy deleted")


def test_images_and_files_by_url_pass_through(api: httpx.Client) -> None:
    user = new_user()
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    done = respond(
        api,
        user,
        [
            {"type": "input_text", "text": "What do you see?"},
            {"type": "input_image", "image_url": "https://example.com/cat.jpg"},
            {"type": "input_image", "image_url": data_url},
            {"type": "input_file", "file_url": "https://example.com/paper.pdf"},
        ],
    )
    assert done["status"] == "completed", done
    assert "cat.jpg" in done["result"]["output_text"]
    assert "paper.pdf" in done["result"]["output_text"]


def test_a_file_of_another_user_is_refused(api: httpx.Client) -> None:
    owner, stranger = new_user(), new_user()
    pdf = upload(api, owner, "secret.pdf", PDF).json()
    response = api.post(
        "/v1/responses",
        json={
            "user_id": stranger,
            "input": [{"role": "user", "content": [{"type": "input_file", "file_id": pdf["id"]}]}],
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "input.0.content.0.file_id"


def read_events(
    api: httpx.Client, user: str, job_id: str, last_event_id: str | None = None
) -> list[tuple[str, str, dict[str, Any]]]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    events = []
    with api.stream(
        "GET", f"/v1/jobs/{job_id}/events", params={"user_id": user}, headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event_id = name = ""
        for line in response.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((event_id, name, json.loads(line[6:])))
    return events


def test_events_stream_deltas_and_end_with_the_terminal_status(api: httpx.Client) -> None:
    user = new_user()
    job = chat(api, user, "Tell me something about queues please")
    events = read_events(api, user, job["id"])
    names = [name for _, name, _ in events]
    assert names[-1] == "status" and events[-1][2]["status"] == "completed"
    assert "output_text.delta" in names
    text = "".join(data["delta"] for _, name, data in events if name == "output_text.delta")
    done = wait_for_job(api, job["id"], user)
    assert text == done["result"]["output_text"]
    # Reconnecting after an event resumes after it; connecting after the end replays it all.
    middle = len(events) // 2
    rest = read_events(api, user, job["id"], last_event_id=events[middle][0])
    assert rest == events[middle + 1 :]
    assert read_events(api, user, job["id"]) == events


def test_events_of_a_foreign_job_are_404(api: httpx.Client) -> None:
    user = new_user()
    job = chat(api, user, "mine")
    response = api.get(f"/v1/jobs/{job['id']}/events", params={"user_id": new_user()})
    assert response.status_code == 404


def test_cancel_a_queued_job_at_once_and_a_running_one_within_a_second(
    api: httpx.Client, upstream: httpx.Client
) -> None:
    user = new_user()
    upstream.put("/_offline/config", json={"latency_ms": 4000})
    try:
        running = chat(api, user, "slow answer")
        queued = chat(api, user, "behind it", conversation_id=running["conversation_id"])
        cancelled = api.post(f"/v1/jobs/{queued['id']}/cancel", json={"user_id": user})
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        wait_until(
            lambda: (
                api.get(f"/v1/jobs/{running['id']}", params={"user_id": user}).json()["status"]
                == "in_progress"
            ),
            what="the slow job to start",
        )
        time.sleep(0.5)  # the upstream response exists by now
        started = time.monotonic()
        stopped = api.post(f"/v1/jobs/{running['id']}/cancel", json={"user_id": user})
        assert stopped.status_code == 200
        done = wait_for_job(api, running["id"], user, timeout=5)
        assert done["status"] == "cancelled", done
        assert time.monotonic() - started < 2.5  # the upstream would take 4 s
    finally:
        upstream.put("/_offline/config", json={"latency_ms": 0})
    response_id = done["result"]["response_id"]
    assert response_id
    assert done["result"]["usage"]["input_tokens"] > 0  # what the cancelled response cost
    upstream_response = upstream.get(
        f"/v1/responses/{response_id}", headers={"Authorization": "Bearer x"}
    ).json()
    assert upstream_response["status"] == "cancelled"
    again = api.post(f"/v1/jobs/{running['id']}/cancel", json={"user_id": user})
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_not_cancellable"
