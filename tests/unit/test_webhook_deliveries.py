"""A job's webhook deliveries below the worker: recorded in the transaction that moves the job,
attempted against a real receiver process (tests/webhook_receiver.py), retried by the sweep,
fenced, given up after the window, refused at delivery when DNS or the allow-list changed, and
listed and redelivered through the API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from shared.accounts.tokens import authenticate, create_token
from shared.core import settings, task_names
from shared.core.celery_app import celery_app
from shared.core.clock import utcnow
from shared.core.db import read_session, write_session
from shared.core.models import Job, WebhookAttempt, WebhookDelivery
from shared.jobs import states
from shared.jobs.lifecycle import Outcome, claim_job, finish_job
from shared.jobs.queries import get_job
from shared.jobs.submission import JobSubmission, submit_job
from shared.jobs.transitions import Change, moving_jobs
from shared.webhooks.delivery import deliver
from shared.webhooks.sweep import oldest_pending_seconds, send_due_deliveries
from shared.webhooks.targets import check_webhook_url
from tests.harness import ROOT, free_port, wait_until

PUBLIC = "93.184.215.14"


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "2")
    settings.get_settings.cache_clear()


@pytest.fixture()
def tasks(monkeypatch: pytest.MonkeyPatch, sent: list[str]) -> list[str]:
    """The delivery ids whose tasks went to the broker, in order."""
    delivered: list[str] = []

    def send_task(name: str, args: list[str], **_: Any) -> None:
        assert name == task_names.DELIVER_WEBHOOK
        delivered.extend(args)

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return delivered


class Receiver:
    def __init__(self, tmp_path: Path, answers: str) -> None:
        self.port = free_port()
        self.record = tmp_path / "received.jsonl"
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "tests.webhook_receiver"),
                *("--port", str(self.port), "--record", str(self.record), "--answers", answers),
            ],
            cwd=ROOT,
        )
        wait_until(lambda: socket.create_connection(("127.0.0.1", self.port)).close() or True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def requests(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture()
def receiver(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Receiver]:
    started = Receiver(tmp_path, getattr(request, "param", "200"))
    yield started
    started.process.kill()
    started.process.wait()


def submit_with_webhook(url: str | None, user: str = "alice") -> Job:
    token, _ = create_token(user)
    return submit_job(
        JobSubmission(
            user_id=user,
            kind="chat",
            request={"message": "hi"},
            new_conversation=True,
            webhook_url=url,
            webhook_token_id=authenticate(token).token_id,
        )
    )[0]


def finish(job: Job, status: str = states.COMPLETED, **outcome: Any) -> None:
    claim = claim_job(job.id)
    assert claim is not None
    assert finish_job(claim, Outcome(status=status, **outcome))


def stored(delivery_id: str) -> WebhookDelivery:
    with read_session() as session:
        return session.get_one(WebhookDelivery, delivery_id)


def attempts_of(delivery_id: str) -> list[WebhookAttempt]:
    with read_session() as session:
        return list(
            session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery_id)
                .order_by(WebhookAttempt.id)
            )
        )


def make_due(delivery_id: str) -> None:
    with write_session() as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def test_the_event_is_recorded_with_the_move_and_its_task_sent_after(tasks: list[str]) -> None:
    job = submit_with_webhook("https://93.184.215.14/hook")
    finish(job, result={"output_text": "done"})
    [delivery_id] = tasks
    delivery = stored(delivery_id)
    assert (delivery.job_id, delivery.status, delivery.event_type) == (
        job.id,
        "pending",
        "job.completed",
    )
    event = json.loads(delivery.payload)
    assert event["type"] == "job.completed"
    assert event["data"] == get_job("alice", job.id)
    assert event["data"]["result"]["output_text"] == "done"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (states.FAILED, {"error": {"code": "upstream_error", "message": "x"}}),
        (states.INCOMPLETE, {"result": {"output_text": "cut"}}),
        (states.REQUIRES_ACTION, {"required_action": {"tool_calls": []}}),
    ],
)
def test_failed_incomplete_and_requires_action_are_events_too(
    tasks: list[str], status: str, outcome: dict[str, Any]
) -> None:
    finish(submit_with_webhook("https://93.184.215.14/hook"), status, **outcome)
    [delivery_id] = tasks
    assert stored(delivery_id).event_type == f"job.{status}"


def test_a_job_without_a_webhook_or_a_rolled_back_move_makes_no_delivery(
    tasks: list[str],
) -> None:
    finish(submit_with_webhook(None))
    job = submit_with_webhook("https://93.184.215.14/hook")
    with pytest.raises(RuntimeError), moving_jobs() as jobs:
        assert jobs.move((Job.id == job.id,), Change(status=states.CANCELLED))
        raise RuntimeError("the transaction fails after the move")
    assert tasks == []
    with read_session() as session:
        assert session.scalars(select(WebhookDelivery)).all() == []
        assert session.get_one(Job, job.id).status == states.QUEUED


@pytest.mark.parametrize("receiver", ["500,200"], indirect=True)
def test_a_failed_attempt_is_retried_by_the_sweep_when_due(
    tasks: list[str], receiver: Receiver
) -> None:
    finish(submit_with_webhook(receiver.url))
    [delivery_id] = tasks
    first = deliver(delivery_id)
    assert first is not None and (first.outcome, first.status_code, first.ended) == (
        "http_error",
        500,
        None,
    )
    waiting = stored(delivery_id)
    assert waiting.status == "pending" and waiting.next_attempt_at is not None
    assert deliver(delivery_id) is None  # a duplicate message before it is due does nothing
    assert send_due_deliveries() == 0

    make_due(delivery_id)
    assert send_due_deliveries() == 1 and tasks == [delivery_id, delivery_id]
    assert send_due_deliveries() == 0  # its task is on its way
    second = deliver(delivery_id)
    assert second is not None and (second.outcome, second.ended) == ("delivered", "delivered")
    assert stored(delivery_id).status == "delivered"
    assert [a.status_code for a in attempts_of(delivery_id)] == [500, 200]
    first_request, second_request = receiver.requests()
    assert first_request["headers"]["webhook-id"] == second_request["headers"]["webhook-id"]
    assert first_request["body"] == second_request["body"]
    assert oldest_pending_seconds() == 0


def test_a_lost_task_or_an_expired_lease_is_sent_again(tasks: list[str]) -> None:
    finish(submit_with_webhook("https://93.184.215.14/hook"))
    [delivery_id] = tasks
    assert send_due_deliveries() == 0  # its task is fresh
    with write_session() as session:  # the broker lost it long ago
        session.execute(
            update(WebhookDelivery).values(task_sent_at=utcnow() - timedelta(minutes=5))
        )
    assert send_due_deliveries() == 1
    with write_session() as session:  # a worker took it, then died holding its lease
        session.execute(
            update(WebhookDelivery).values(
                task_sent_at=None, lease_expires_at=utcnow() + timedelta(seconds=30)
            )
        )
    assert send_due_deliveries() == 0
    with write_session() as session:
        session.execute(
            update(WebhookDelivery).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert send_due_deliveries() == 1
    assert tasks == [delivery_id] * 3
    assert oldest_pending_seconds() > 0


def test_a_stale_attempt_cannot_write_over_the_one_that_took_over(
    tasks: list[str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    finish(submit_with_webhook(receiver.url))
    [delivery_id] = tasks
    from shared.webhooks import delivery as delivery_module

    real_post = delivery_module._post

    def taken_over_meanwhile(taken: Any, settings: Any) -> Any:
        with write_session() as session:  # another attempt claims it while this one sends
            session.execute(update(WebhookDelivery).values(attempts=WebhookDelivery.attempts + 1))
        return real_post(taken, settings)

    monkeypatch.setattr(delivery_module, "_post", taken_over_meanwhile)
    attempt = deliver(delivery_id)
    assert attempt is not None and attempt.outcome == "delivered" and attempt.ended is None
    assert stored(delivery_id).status == "pending"  # the newer attempt's to settle
    [record] = attempts_of(delivery_id)
    assert record.status_code == 200 and record.next_attempt_at is None


def test_a_delivery_past_its_window_is_given_up(tasks: list[str]) -> None:
    finish(submit_with_webhook("http://127.0.0.1:9/hook"))  # nothing listens on port 9
    [delivery_id] = tasks
    with write_session() as session:
        session.execute(update(WebhookDelivery).values(created_at=utcnow() - timedelta(hours=25)))
    attempt = deliver(delivery_id)
    assert attempt is not None
    assert (attempt.outcome, attempt.ended) == ("connection_error", "gave_up")
    given_up = stored(delivery_id)
    assert (given_up.status, given_up.next_attempt_at) == ("failed", None)
    assert given_up.finished_at is not None


def test_a_host_that_resolves_to_loopback_by_delivery_time_is_refused(
    tasks: list[str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public when the job was submitted, the receiver's loopback at delivery."""
    answers = {"hooks.example.test": PUBLIC}
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    url = f"https://hooks.example.test:{receiver.port}/hook"
    check_webhook_url(url, settings.get_settings())  # as the submit checks it
    finish(submit_with_webhook(url))
    answers["hooks.example.test"] = "127.0.0.1"
    [delivery_id] = tasks
    attempt = deliver(delivery_id)
    assert attempt is not None and attempt.outcome == "refused"
    assert attempt.error is not None and "127.0.0.1 is a loopback address" in attempt.error
    assert receiver.requests() == []


def test_a_host_taken_off_the_allow_list_is_refused_at_delivery(
    tasks: list[str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    finish(submit_with_webhook(receiver.url))
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", "")
    settings.get_settings.cache_clear()
    [delivery_id] = tasks
    attempt = deliver(delivery_id)
    assert attempt is not None and attempt.outcome == "refused"
    assert receiver.requests() == []
    assert stored(delivery_id).status == "pending"  # tried again later, as any failure


def test_deliveries_are_listed_and_redelivered_with_a_new_id(
    client: FlaskClient, tasks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token, _ = create_token("carol", webhook_url="https://93.184.215.14/default")
    auth = {"Authorization": f"Bearer {token}"}
    submitted = client.post("/v1/chat", json={"message": "hi"}, headers=auth)
    assert submitted.status_code == 202, submitted.json
    job_id = submitted.json["id"]  # type: ignore[index]
    early = client.post(f"/v1/jobs/{job_id}/deliveries/redeliver", headers=auth)
    assert early.status_code == 409 and early.json["error"]["code"] == "no_webhook_event"  # type: ignore[index]

    with read_session() as session:
        job = session.get_one(Job, job_id)
        assert job.webhook_url == "https://93.184.215.14/default"
    finish(job)
    again = client.post(f"/v1/jobs/{job_id}/deliveries/redeliver", headers=auth)
    assert again.status_code == 202, again.json
    assert again.json["id"] != tasks[0] and tasks == [tasks[0], again.json["id"]]  # type: ignore[index]

    listed = client.get(f"/v1/jobs/{job_id}/deliveries", headers=auth).json
    assert [d["id"] for d in listed["data"]] == tasks  # type: ignore[index]
    assert {d["event_type"] for d in listed["data"]} == {"job.completed"}  # type: ignore[index]
    assert all(d["status"] == "pending" and d["attempts"] == [] for d in listed["data"])  # type: ignore[index]

    other, _ = create_token("dave")
    hidden = client.get(
        f"/v1/jobs/{job_id}/deliveries", headers={"Authorization": f"Bearer {other}"}
    )
    assert hidden.status_code == 404
    no_hook = submit_with_webhook(None, user="carol")
    finish(no_hook)
    refused = client.post(f"/v1/jobs/{no_hook.id}/deliveries/redeliver", headers=auth)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "no_webhook"  # type: ignore[index]


def test_a_private_webhook_url_is_422_at_submit(client: FlaskClient, token: str) -> None:
    answer = client.post(
        "/v1/responses",
        json={"input": "hi", "webhook_url": "https://10.0.0.5/hook"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422
    error = answer.json["error"]  # type: ignore[index]
    assert (error["code"], error["param"]) == ("invalid_webhook_url", "webhook_url")
    assert "10.0.0.5 is a private address" in error["message"]
