"""Token usage and budgets: a job's tokens are added to its user's day once, in the move that
ends it, whoever ends it; a user past a budget is refused before anything is written."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from shared.accounts import budgets
from shared.accounts.budgets import Windows, check_budget
from shared.accounts.tokens import create_token
from shared.core import settings
from shared.core.db import read_session, write_session
from shared.core.errors import Conflict, RateLimited
from shared.core.models import Job, Response, UsageDay
from shared.jobs import states
from shared.jobs.control import cancel_job
from shared.jobs.lifecycle import Outcome, claim_job, finish_job, store_response
from shared.jobs.sweeps import reconcile_jobs
from tests.unit.chats import submit

USAGE = {"input_tokens": 30, "output_tokens": 12, "total_tokens": 42}


@pytest.fixture(autouse=True)
def fresh_budgets() -> None:
    budgets.cached_budget.cache_clear()


def _set(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings.get_settings.cache_clear()
    budgets.cached_budget.cache_clear()


def _finished(user: str = "u", usage: dict[str, int] = USAGE, model: str | None = None) -> Job:
    job = submit(user)
    if model is not None:
        with write_session() as session:
            session.get_one(Job, job.id).request = {"message": "hi", "model": model}
    claim = claim_job(job.id)
    assert claim is not None
    assert finish_job(
        claim, Outcome(status=states.COMPLETED, result={"output_text": "ok", "usage": usage})
    )
    return job


def _days(user: str) -> list[tuple[int, int, int, int]]:
    with read_session() as session:
        return [
            (day.input_tokens, day.output_tokens, day.total_tokens, day.jobs)
            for day in session.scalars(select(UsageDay).where(UsageDay.user_id == user))
        ]


def _job_count() -> int:
    with read_session() as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


def test_a_finished_jobs_usage_is_added_to_its_users_day_once(sent: list[str]) -> None:
    job = _finished()
    _finished()
    assert _days("u") == [(60, 24, 84, 2)]
    # A finished job is never moved again: a stale attempt, a cancel, a sweep add nothing.
    claim = claim_job(job.id)
    assert claim is None
    with pytest.raises(Conflict):
        cancel_job("u", job.id)
    reconcile_jobs()
    assert _days("u") == [(60, 24, 84, 2)]


def test_a_stale_attempts_finish_adds_nothing(sent: list[str]) -> None:
    job = submit("u")
    first = claim_job(job.id)
    assert first is not None
    with write_session() as session:  # the reconciler gave the job to another worker
        session.get_one(Job, job.id).queue_state = states.SENT
    second = claim_job(job.id)
    assert second is not None
    done = Outcome(status=states.COMPLETED, result={"output_text": "ok", "usage": USAGE})
    assert finish_job(second, done)
    assert not finish_job(first, done)
    assert _days("u") == [(30, 12, 42, 1)]


def test_a_job_cancelled_while_waiting_for_tool_outputs_counts_the_responses_it_made(
    sent: list[str],
) -> None:
    job = submit("u")
    claim = claim_job(job.id)
    assert claim is not None
    for number in (1, 2):
        response = Response(
            id=f"resp_{number}",
            job_id=job.id,
            user_id="u",
            conversation_id=job.conversation_id,
            model="gpt-5-nano",
            status="completed",
            output_text="",
            output=[],
            usage=USAGE,
        )
        assert store_response(claim, response)
    assert finish_job(claim, Outcome(status=states.REQUIRES_ACTION, required_action={"x": 1}))
    assert _days("u") == []
    cancel_job("u", job.id)
    assert _days("u") == [(60, 24, 84, 1)]


def test_a_job_ended_without_a_response_counts_as_a_job(sent: list[str]) -> None:
    job = submit("u")
    cancel_job("u", job.id)
    assert _days("u") == [(0, 0, 0, 1)]


def test_tokens_are_counted_by_model_not_by_user(sent: list[str]) -> None:
    def count(model: str, kind: str) -> float:
        labels = {"model": model, "type": kind}
        return REGISTRY.get_sample_value("gateway_tokens_total", labels) or 0.0

    before = count("gpt-5-nano", "input"), count("gpt-4.1", "output")
    _finished(model="gpt-4.1")
    _finished()
    assert count("gpt-5-nano", "input") - before[0] == 30
    assert count("gpt-4.1", "output") - before[1] == 12


def test_without_budgets_a_submit_reads_no_usage(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_read(*_args: Any) -> None:
        raise AssertionError("usage read without a budget")

    monkeypatch.setattr("shared.accounts.usage.spent", no_read)
    _finished(usage={"input_tokens": 10**9, "output_tokens": 0, "total_tokens": 10**9})
    submit("u")


def test_a_spent_daily_budget_refuses_until_midnight_and_writes_nothing(
    sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _set(monkeypatch, USER_DAILY_TOKENS="50")
    _finished()  # 42 of 50: the next submit is still accepted, and its job counts in full
    _finished()
    jobs = _job_count()
    now = datetime(2030, 5, 17, 23, 59, 30, tzinfo=UTC)
    monkeypatch.setattr(budgets, "utcnow", lambda: now)
    with write_session() as session:  # the usage, moved to the clock's day
        for day in session.scalars(select(UsageDay)):
            day.day = date(2030, 5, 17)
    with pytest.raises(RateLimited) as refused:
        submit("u")
    assert refused.value.code == "budget_exceeded"
    assert refused.value.retry_after == 30
    assert "daily token budget (50)" in refused.value.message
    assert _job_count() == jobs
    submit("v")  # another user is not held back


@pytest.mark.parametrize(
    ("moment", "today", "day_ends", "month_ends"),
    [
        (datetime(2030, 1, 31, 12), date(2030, 1, 31), datetime(2030, 2, 1), datetime(2030, 2, 1)),
        (datetime(2030, 2, 28, 0), date(2030, 2, 28), datetime(2030, 3, 1), datetime(2030, 3, 1)),
        (datetime(2030, 12, 5, 9), date(2030, 12, 5), datetime(2030, 12, 6), datetime(2031, 1, 1)),
    ],
)
def test_windows_are_the_utc_day_and_calendar_month(
    moment: datetime, today: date, day_ends: datetime, month_ends: datetime
) -> None:
    windows = Windows.at(moment.replace(tzinfo=UTC))
    assert windows.today == today
    assert windows.day_ends == day_ends.replace(tzinfo=UTC)
    assert windows.month_ends == month_ends.replace(tzinfo=UTC)


def _add_usage(user: str, day: date, total: int) -> None:
    submit(user)  # makes the user
    with write_session() as session:
        session.add(
            UsageDay(
                user_id=user,
                day=day,
                input_tokens=total,
                output_tokens=0,
                total_tokens=total,
                jobs=1,
            )
        )


def test_the_monthly_budget_counts_the_calendar_month_and_a_users_own_budget_wins(
    sent: list[str], monkeypatch: pytest.MonkeyPatch, app: Flask
) -> None:
    now = datetime(2030, 3, 15, 12, tzinfo=UTC)
    monkeypatch.setattr(budgets, "utcnow", lambda: now)
    _set(monkeypatch, USER_MONTHLY_TOKENS="1000", USER_DAILY_TOKENS="100")
    _add_usage("m", date(2030, 2, 28), 5000)  # last month: not counted
    _add_usage("m", date(2030, 3, 1), 600)
    _add_usage("m", date(2030, 3, 14), 399)
    check_budget("m")  # 999 of 1000 this month, nothing today
    _add_usage("m", date(2030, 3, 2), 1)
    with pytest.raises(RateLimited) as refused:
        check_budget("m")
    assert refused.value.retry_after == 17 * 86400 - 12 * 3600  # to 2030-04-01 00:00 UTC
    runner = app.test_cli_runner()
    raised = runner.invoke(args=["users", "set", "m", "--monthly-tokens", "5000"])
    assert raised.exit_code == 0, raised.output
    assert "daily_tokens=default\tmonthly_tokens=5000" in raised.output
    check_budget("m")
    runner.invoke(args=["users", "set", "m", "--daily-tokens", "0"])
    with pytest.raises(RateLimited) as refused:
        check_budget("m")
    assert refused.value.retry_after == 12 * 3600
    cleared = runner.invoke(
        args=["users", "set", "m", "--default-daily-tokens", "--default-monthly-tokens"]
    )
    assert "daily_tokens=default\tmonthly_tokens=default" in cleared.output
    with pytest.raises(RateLimited):  # the settings' 1000 a month again
        check_budget("m")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_submit_over_budget_answers_429_with_retry_after(
    sent: list[str], monkeypatch: pytest.MonkeyPatch, client: FlaskClient, token: str
) -> None:
    _set(monkeypatch, USER_DAILY_TOKENS="10")
    _finished("alice")
    for path, body in (("/v1/chat", {"message": "hi"}), ("/v1/responses", {"input": "hi"})):
        answer = client.post(path, json=body, headers=_auth(token))
        assert answer.status_code == 429, answer.get_json()
        assert answer.get_json()["error"]["code"] == "budget_exceeded"
        assert answer.get_json()["error"]["type"] == "rate_limit_error"
        assert 1 <= int(answer.headers["Retry-After"]) <= 86400
    assert client.post("/chat", json={"message": "hi"}, headers=_auth(token)).status_code == 429


def test_usage_lists_days_and_what_is_left(
    sent: list[str],
    monkeypatch: pytest.MonkeyPatch,
    client: FlaskClient,
    token: str,
    service_token: str,
) -> None:
    _set(monkeypatch, USER_DAILY_TOKENS="100")
    _finished("alice")
    _finished("alice")
    _finished("bob")
    today = datetime.now(UTC).date().isoformat()
    mine = client.get("/v1/usage", headers=_auth(token))
    assert mine.status_code == 200, mine.get_json()
    body = mine.get_json()
    assert body["user_id"] == "alice" and body["to"] == today and body["from"] == today[:8] + "01"
    assert body["days"] == [
        {"date": today, "input_tokens": 60, "output_tokens": 24, "total_tokens": 84, "jobs": 2}
    ]
    assert body["total"]["total_tokens"] == 84
    assert body["today"]["used_tokens"] == 84
    assert (body["today"]["budget_tokens"], body["today"]["remaining_tokens"]) == (100, 16)
    assert body["this_month"]["budget_tokens"] is None
    assert body["this_month"]["remaining_tokens"] is None
    assert body["today"]["resets_at"] > datetime.now(UTC).timestamp()
    # A user token sees only itself; a service token names the user.
    assert client.get("/v1/usage?user_id=bob", headers=_auth(token)).status_code == 404
    theirs = client.get("/v1/usage?user_id=bob", headers=_auth(service_token)).get_json()
    assert theirs["total"]["jobs"] == 1
    unknown = client.get("/v1/usage?user_id=nobody", headers=_auth(service_token)).get_json()
    assert unknown["days"] == [] and unknown["today"]["remaining_tokens"] == 100
    assert client.get("/v1/usage", headers=_auth(service_token)).status_code == 422
    earlier = client.get("/v1/usage?from=2020-01-01&to=2020-01-31", headers=_auth(token)).get_json()
    assert earlier["days"] == [] and earlier["today"]["used_tokens"] == 84


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("from=2030-02-30", "from"),
        ("from=yesterday", "from"),
        ("to=20300101", "to"),
        ("to=2030-01-01&to=2030-01-02", "to"),
        ("from=2030-02-01&to=2030-01-31", "from"),
        ("from=2028-12-31&to=2030-01-01", "from"),
        ("since=2030-01-01", "since"),
    ],
)
def test_bad_dates_and_ranges_are_422_naming_the_param(
    client: FlaskClient, token: str, query: str, param: str
) -> None:
    answer = client.get(f"/v1/usage?{query}", headers=_auth(token))
    assert answer.status_code == 422, answer.get_json()
    error = answer.get_json()["error"]
    assert error["param"] == param
    assert "Value error" not in error["message"]  # the validator's words, not pydantic's


def test_users_usage_prints_what_the_route_answers(
    sent: list[str], app: Flask, client: FlaskClient
) -> None:
    _finished("carol")
    runner = app.test_cli_runner()
    printed = runner.invoke(args=["users", "usage", "carol"])
    assert printed.exit_code == 0, printed.output
    lines = printed.output.splitlines()
    assert lines[0] == "day\tinput_tokens\toutput_tokens\ttotal_tokens\tjobs"
    assert lines[1].endswith("\t30\t12\t42\t1") and lines[2] == "total\t30\t12\t42\t1"
    assert lines[3].startswith("today\tused=42\tbudget=unlimited\tremaining=unlimited\tresets=")
    since = (datetime.now(UTC) - timedelta(days=40)).date().isoformat()
    as_json = runner.invoke(args=["users", "usage", "carol", "--json", "--from", since])
    token = create_token("carol")[0]
    route = client.get("/v1/usage", query_string={"from": since}, headers=_auth(token))
    assert route.get_json() == json.loads(as_json.output)
    backwards = runner.invoke(
        args=["users", "usage", "carol", "--from", "2030-02-01", "--to", "2030-01-01"]
    )
    assert backwards.exit_code == 1 and "invalid_date_range" in backwards.output
