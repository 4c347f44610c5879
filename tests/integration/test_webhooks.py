"""Webhooks through the whole stack, to a real receiver process on this machine: signed per
Standard Webhooks (checked with the spec's own implementation, `standardwebhooks`), retried with
the same webhook-id until a 2xx, kept through a receiver that is down, a Redis restart and a
worker killed mid-delivery; private targets refused at submit."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.harness import ROOT, VENV_BIN, Process, Stack, free_port, wait_until
from tests.integration.conftest import DATABASES, running, wait_for_job

WEBHOOK_SETTINGS = {
    "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.3",
    "WEBHOOK_RETRY_MAX_SECONDS": "1",
    "RATE_LIMIT": "100000/minute",
}
CANCEL_BOOKING = {
    "type": "function",
    "name": "cancel_booking",
    "description": "Cancel a hotel booking given its reference",
    "parameters": {
        "type": "object",
        "properties": {"booking_ref": {"type": "integer"}},
        "required": ["booking_ref"],
    },
}


@pytest.fixture(scope="module", params=DATABASES)
def webhook_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with running(request, Stack(database=request.param, settings=WEBHOOK_SETTINGS)) as stack:
        yield stack


@dataclass
class Receiver:
    """tests/webhook_receiver.py on a port of this machine, and what it was sent."""

    port: int
    record: Path
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self, answers: str) -> Receiver:
        self.process = Process(
            f"receiver-{self.port}",
            [
                str(VENV_BIN / "python"),
                "-m",
                "tests.webhook_receiver",
                "--port",
                str(self.port),
                "--record",
                str(self.record),
                "--answers",
                answers,
            ],
            {"PATH": str(VENV_BIN)},
            self.record.parent,
        ).start()
        wait_until(lambda: httpx.get(self.url).status_code == 501, what="webhook receiver")
        return self

    def received(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """The first `count` requests it was sent, once it has been sent that many."""
        wait_until(lambda: len(self.requests()) >= count, timeout, what=f"{count} deliveries")
        return self.requests()[:count]

    def requests(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture()
def receivers(tmp_path: Path) -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        if receiver.process:
            receiver.process.kill()


def new_receiver(receivers: list[Receiver], tmp_path: Path) -> Receiver:
    port = free_port()
    receiver = Receiver(port, tmp_path / f"received-{port}.jsonl")
    receivers.append(receiver)
    return receiver


def user_token(stack: Stack, *options: str) -> tuple[str, str, str]:
    """A new user token made by the admin command: (user, token, its webhook secret)."""
    user = f"hooks-{uuid.uuid4().hex[:8]}"
    made = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "api", "tokens", "create", user, *options],
        env=stack.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", made.stderr)
    assert secret, made.stderr
    return user, made.stdout.strip(), secret[0]


def verified(secret: str, request: dict[str, Any]) -> dict[str, Any]:
    """The event of a delivery whose signature the spec's own implementation accepts."""
    event: dict[str, Any] = Webhook(secret).verify(request["body"], request["headers"])
    return event


def deliveries(api: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/v1/jobs/{job_id}/deliveries")
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]  # type: ignore[no-any-return]


def settled(api: httpx.Client, job_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The job's deliveries once `count` of them are delivered."""

    def delivered() -> list[dict[str, Any]] | None:
        found = [d for d in deliveries(api, job_id) if d["status"] == "delivered"]
        return found if len(found) >= count else None

    return wait_until(delivered, timeout=30, what="deliveries delivered")  # type: ignore[no-any-return]


def test_a_receiver_failing_twice_gets_the_same_signed_event_three_times(
    webhook_stack: Stack, receivers: list[Receiver], tmp_path: Path
) -> None:
    receiver = new_receiver(receivers, tmp_path).start("500,500,200")
    user, token, secret = user_token(webhook_stack)
    with webhook_stack.client(token) as api:
        submitted = api.post("/v1/chat", json={"message": "Hello", "webhook_url": receiver.url})
        assert submitted.status_code == 202, submitted.text
        job = wait_for_job(api, submitted.json()["id"], user)
        assert job["status"] == "completed"

        first, second, third = receiver.received(3)
        assert {r["headers"]["webhook-id"] for r in (first, second, third)} == {
            first["headers"]["webhook-id"]
        }
        assert first["body"] == second["body"] == third["body"]
        for request in (first, second, third):
            event = verified(secret, request)
            assert event["type"] == "job.completed"
            assert event["data"] == job
        with pytest.raises(Exception, match="signature"):
            Webhook("whsec_" + "A" * 43 + "=").verify(third["body"], third["headers"])

        [delivery] = settled(api, job["id"])
        assert delivery["id"] == first["headers"]["webhook-id"]
        assert delivery["event_type"] == "job.completed"
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
        assert [a["next_attempt_at"] is not None for a in delivery["attempts"]] == [
            True,
            True,
            False,
        ]
        assert delivery["next_attempt_at"] is None
        # The job is untouched by its webhook's failures.
        assert wait_for_job(api, job["id"], user) == job
    worker_metrics = httpx.get(f"http://127.0.0.1:{webhook_stack.worker_metrics_port}/metrics")
    assert 'gateway_webhook_attempts_total{outcome="http_error"}' in worker_metrics.text
    assert 'gateway_webhook_deliveries_total{outcome="delivered"}' in worker_metrics.text
    beat_metrics = httpx.get(f"http://127.0.0.1:{webhook_stack.beat_metrics_port}/metrics")
    assert "gateway_webhook_oldest_pending_seconds" in beat_metrics.text


def test_a_tokens_default_webhook_hears_every_event_and_redelivery_has_a_new_id(
    webhook_stack: Stack, receivers: list[Receiver], tmp_path: Path
) -> None:
    receiver = new_receiver(receivers, tmp_path).start("200")
    user, token, secret = user_token(webhook_stack, "--webhook-url", receiver.url)
    with webhook_stack.client(token) as api:
        submitted = api.post(
            "/v1/responses",
            json={"input": "Please cancel my booking 5521", "tools": [CANCEL_BOOKING]},
        )
        assert submitted.status_code == 202, submitted.text
        waiting = wait_for_job(api, submitted.json()["id"], user)
        assert waiting["status"] == "requires_action"
        [call] = waiting["required_action"]["tool_calls"]
        answered = api.post(
            f"/v1/jobs/{waiting['id']}/tool_outputs",
            json={"tool_outputs": [{"call_id": call["call_id"], "output": "cancelled"}]},
        )
        assert answered.status_code == 200, answered.text
        done = wait_for_job(api, waiting["id"], user)
        assert done["status"] == "completed"

        # A job's events are delivered independently: the second may overtake the first.
        events = {
            event["type"]: event["data"]
            for event in map(partial(verified, secret), receiver.received(2))
        }
        assert events == {"job.requires_action": waiting, "job.completed": done}

        again = api.post(f"/v1/jobs/{done['id']}/deliveries/redeliver")
        assert again.status_code == 202, again.text
        [_, _, repeat] = receiver.received(3)
        assert repeat["headers"]["webhook-id"] == again.json()["id"]
        assert repeat["headers"]["webhook-id"] not in {
            request["headers"]["webhook-id"] for request in receiver.requests()[:2]
        }
        assert verified(secret, repeat)["data"] == done
        assert len(settled(api, done["id"], 3)) == 3


def test_private_and_plain_http_targets_are_refused_at_submit(webhook_stack: Stack) -> None:
    with webhook_stack.client() as api:
        for url in (
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://localhost/hook",
            "http://example.com/hook",
            "ftp://example.com/hook",
            "https://user:password@example.com/hook",
        ):
            refused = api.post(
                "/v1/chat", json={"message": "hi", "user_id": "alice", "webhook_url": url}
            )
            assert refused.status_code == 422, (url, refused.text)
            error = refused.json()["error"]
            assert (error["code"], error["param"]) == ("invalid_webhook_url", "webhook_url"), url
    with pytest.raises(subprocess.CalledProcessError) as refused_token:
        user_token(webhook_stack, "--webhook-url", "https://192.168.1.1/hook")
    assert "invalid_webhook_url" in refused_token.value.stderr


def test_a_receiver_down_through_a_redis_restart_gets_the_event_once_it_is_up(
    webhook_stack: Stack, receivers: list[Receiver], tmp_path: Path
) -> None:
    receiver = new_receiver(receivers, tmp_path)  # not started: nothing listens on its port
    user, token, secret = user_token(webhook_stack)
    with webhook_stack.client(token) as api:
        submitted = api.post("/v1/chat", json={"message": "hi", "webhook_url": receiver.url})
        job = wait_for_job(api, submitted.json()["id"], user)
        wait_until(
            lambda: sum(len(d["attempts"]) for d in deliveries(api, job["id"])) >= 2,
            timeout=30,
            what="failed attempts",
        )
        [pending] = deliveries(api, job["id"])
        assert pending["status"] == "pending" and pending["next_attempt_at"] is not None
        assert all(
            a["status_code"] is None and a["error"].startswith("connection_error")
            for a in pending["attempts"]
        )
        webhook_stack.restart_redis(down_seconds=0.5)
        receiver.start("200")
        [request] = receiver.received(1, timeout=45)
        assert request["headers"]["webhook-id"] == pending["id"]
        assert verified(secret, request)["data"] == job
        [delivered] = settled(api, job["id"])
        assert delivered["attempts"][-1]["status_code"] == 200


def test_a_worker_killed_mid_delivery_does_not_lose_it(
    webhook_stack: Stack, receivers: list[Receiver], tmp_path: Path
) -> None:
    receiver = new_receiver(receivers, tmp_path).start("hang,200")
    user, token, secret = user_token(webhook_stack)
    with webhook_stack.client(token) as api:
        submitted = api.post("/v1/chat", json={"message": "hi", "webhook_url": receiver.url})
        receiver.received(1)  # the worker now waits on the receiver's answer
        webhook_stack.processes["worker"].kill()
        webhook_stack.start_worker()
        job = wait_for_job(api, submitted.json()["id"], user)
        first, second = receiver.received(2, timeout=60)
        assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
        assert verified(secret, second)["data"] == job
        [delivered] = settled(api, job["id"])
        # The killed attempt never came back to say how it went: only the one that did is listed.
        assert [a["status_code"] for a in delivered["attempts"]] == [200]
