"""The dispatcher: conversation order, turns across users, in-flight limits, a bounded broker."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from shared.core.db import read_session, write_session
from shared.core.models import Job, User
from shared.core.settings import get_settings
from shared.jobs import states
from shared.jobs.control import cancel_job, submit_tool_outputs
from shared.jobs.dispatch import dispatch_now, dispatch_soon
from shared.jobs.lifecycle import Outcome, claim_job, finish_job
from tests.unit.chats import submit


def test_a_conversations_later_jobs_wait_for_the_earlier_one(sent: list[str]) -> None:
    first = submit("u1")
    second = submit("u1", first.conversation_id)
    third = submit("u1", first.conversation_id)
    assert sent == [first.id]
    claim = claim_job(first.id)
    assert claim is not None
    finish_job(claim, Outcome(status=states.COMPLETED, result={}))
    assert sent == [first.id, second.id]
    claim = claim_job(second.id)
    assert claim is not None
    finish_job(claim, Outcome(status=states.FAILED, error={"code": "x", "message": "y"}))
    assert sent == [first.id, second.id, third.id]


def test_users_take_turns_rather_than_arrival_order(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROKER_MAX_PENDING", "4")
    get_settings.cache_clear()
    heavy = [submit("heavy") for _ in range(10)]
    light = [submit("light") for _ in range(2)]
    assert sent == [job.id for job in heavy[:4]]
    # The broker drains; the next sends alternate between the two users.
    with write_session() as session:
        session.execute(
            update(Job).where(Job.id.in_(sent)).values(status="completed", queue_state=None)
        )
    sent.clear()
    dispatch_now()
    assert sent[:2] in ([light[0].id, heavy[4].id], [heavy[4].id, light[0].id])
    assert set(sent) == {heavy[4].id, heavy[5].id, light[0].id, light[1].id}


def test_a_users_in_flight_limit_holds_the_rest_back(sent: list[str]) -> None:
    with write_session() as session:
        session.add(User(id="capped", name="capped", max_inflight=2))
    jobs = [submit("capped") for _ in range(5)]
    assert sent == [jobs[0].id, jobs[1].id]
    claim = claim_job(jobs[0].id)
    assert claim is not None
    dispatch_soon()
    assert len(sent) == 2  # running counts against the limit too
    finish_job(claim, Outcome(status=states.COMPLETED, result={}))
    assert sent == [jobs[0].id, jobs[1].id, jobs[2].id]


def _waiting_for_a_tool(job_id: str) -> None:
    claim = claim_job(job_id)
    assert claim is not None
    waiting = {"tool_calls": [{"call_id": "call_1", "name": "f", "arguments": "{}"}]}
    finish_job(claim, Outcome(status=states.REQUIRES_ACTION, required_action=waiting))


def test_a_job_resumed_with_tool_outputs_is_not_held_back_by_itself(sent: list[str]) -> None:
    with write_session() as session:
        session.add(User(id="solo", name="solo", max_inflight=1))
    job = submit("solo")
    _waiting_for_a_tool(job.id)
    submit_tool_outputs("solo", job.id, [{"call_id": "call_1", "output": "{}"}])
    # In progress but held by no worker: it is sent, not counted as running against its limit.
    assert sent == [job.id, job.id]


def test_a_job_resumed_with_tool_outputs_can_be_cancelled_before_it_runs(
    sent: list[str],
) -> None:
    with write_session() as session:
        session.add(User(id="busy", name="busy", max_inflight=1))
    job, other = submit("busy"), submit("busy")
    _waiting_for_a_tool(job.id)
    assert sent == [job.id, other.id]
    running = claim_job(other.id)  # the user's one slot is taken: the resumed job waits
    submit_tool_outputs("busy", job.id, [{"call_id": "call_1", "output": "{}"}])
    assert sent == [job.id, other.id]
    body = cancel_job("busy", job.id)
    assert body["status"] == "cancelled" and body["error"]["code"] == "cancelled"
    assert running is not None
    finish_job(running, Outcome(status=states.COMPLETED, result={}))
    assert sent == [job.id, other.id]  # nothing left to send
    assert claim_job(job.id) is None


def test_a_lost_job_whose_response_still_generates_is_left_to_its_next_worker_to_cancel(
    sent: list[str],
) -> None:
    job = submit("lost")
    assert claim_job(job.id) is not None
    with write_session() as session:  # its worker vanished mid-response; the sweep put it back
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(upstream_response_id="resp_generating", queue_state=states.READY)
        )
    body = cancel_job("lost", job.id)
    # Cancelling it here would leave the response running upstream, in its conversation.
    assert body["status"] == "in_progress"
    with read_session() as session:
        assert session.get_one(Job, job.id).cancel_requested


def test_weights_give_heavier_users_more_per_lap(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with write_session() as session:
        session.add(User(id="gold", name="gold", weight=3))
    monkeypatch.setenv("BROKER_MAX_PENDING", "1")
    get_settings.cache_clear()
    gold = [submit("gold") for _ in range(6)]
    plain = [submit("plain") for _ in range(6)]
    monkeypatch.setenv("BROKER_MAX_PENDING", "8")
    get_settings.cache_clear()
    with write_session() as session:
        session.execute(
            update(Job).where(Job.id == gold[0].id).values(status="completed", queue_state=None)
        )
    sent.clear()
    dispatch_now()
    gold_sent = [job_id for job_id in sent if job_id in {j.id for j in gold}]
    plain_sent = [job_id for job_id in sent if job_id in {j.id for j in plain}]
    assert len(gold_sent) >= 2 * len(plain_sent) - 1
    assert plain_sent


def test_the_broker_never_holds_more_than_the_bound(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROKER_MAX_PENDING", "3")
    get_settings.cache_clear()
    for user in ("a", "b", "c", "d"):
        for _ in range(3):
            submit(user)
    assert len(sent) == 3
    with read_session() as session:
        waiting = session.scalars(select(Job.queue_state)).all()
    assert waiting.count(states.SENT) == 3
    assert waiting.count(states.READY) == 9


def test_a_message_for_a_running_or_finished_job_is_ignored(sent: list[str]) -> None:
    job = submit("dup")
    claim = claim_job(job.id)
    assert claim is not None
    assert claim_job(job.id) is None
    finish_job(claim, Outcome(status=states.COMPLETED, result={}))
    assert claim_job(job.id) is None


def test_a_stale_attempt_cannot_finish_the_job(sent: list[str]) -> None:
    job = submit("stale")
    first = claim_job(job.id)
    assert first is not None
    with write_session() as session:  # the reconciler gave the job to another worker
        session.execute(update(Job).where(Job.id == job.id).values(queue_state="sent"))
    second = claim_job(job.id)
    assert second is not None and second.attempt == first.attempt + 1
    assert not finish_job(first, Outcome(status=states.FAILED, error={"code": "x"}))
    assert finish_job(second, Outcome(status=states.COMPLETED, result={"output_text": "ok"}))
    with read_session() as session:
        stored = session.get_one(Job, job.id)
    assert stored.status == "completed" and stored.attempts == 2


def test_queued_jobs_show_their_place_among_their_users_queue(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.jobs.queries import get_job, list_jobs

    monkeypatch.setenv("BROKER_MAX_PENDING", "1")
    get_settings.cache_clear()
    jobs = [submit("waiting") for _ in range(5)]
    other = submit("someone-else")
    assert [get_job("waiting", job.id).get("queue_position") for job in jobs] == [1, 2, 3, 4, 5]
    assert get_job("someone-else", other.id)["queue_position"] == 1
    listed = list_jobs("waiting", "queued", None, 3, None)["data"]
    assert [(j["id"], j["queue_position"]) for j in listed] == [
        (jobs[4].id, 5),
        (jobs[3].id, 4),
        (jobs[2].id, 3),
    ]
    claim = claim_job(jobs[0].id)
    assert claim is not None
    assert "queue_position" not in get_job("waiting", jobs[0].id)
    assert get_job("waiting", jobs[1].id)["queue_position"] == 1


def test_fifo_scheduling_sends_in_arrival_order_whoever_submitted(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROKER_MAX_PENDING", "2")
    monkeypatch.setenv("SCHEDULING", "fifo")
    get_settings.cache_clear()
    heavy = [submit("heavy") for _ in range(6)]
    light = submit("light")
    with write_session() as session:
        session.execute(
            update(Job).where(Job.id.in_(sent)).values(status="completed", queue_state=None)
        )
    sent.clear()
    dispatch_now()
    assert sent == [heavy[2].id, heavy[3].id]
    assert light.id not in sent


def test_an_idle_gateway_sends_a_job_in_its_submit_without_a_pass(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[None] = []
    monkeypatch.setattr("shared.jobs.dispatch.dispatch_here", lambda: passes.append(None))
    first = submit("u1")
    assert (sent, passes) == ([first.id], [])
    with read_session() as session:
        assert session.get_one(Job, first.id).queue_state == states.SENT
    # Once a job waits ready (here behind its conversation's first), new jobs go through a pass.
    with write_session() as session:
        session.execute(update(Job).values(queue_state=states.READY))
    second = submit("u2")
    assert (sent, len(passes)) == ([first.id], 1)
    with read_session() as session:
        assert session.get_one(Job, second.id).queue_state == states.READY
