"""Reliability rules, each broken on purpose with real processes: short runs
of the scenarios `make faults` runs at full size."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests import faults
from tests.harness import Stack
from tests.integration.conftest import DATABASES, running, wait_for_job

SAFE_FAILURES = {"upstream_rate_limited", "upstream_error", "upstream_timeout"}


@pytest.fixture(scope="module", params=DATABASES)
def fault_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with running(
        request,
        Stack(
            database=request.param,
            settings=faults.FAULT_SETTINGS,
            proxy_database=request.param == "postgresql",
        ),
    ) as stack:
        yield stack


def assert_nothing_lost_or_doubled(
    report: faults.FaultReport, duplicate_generations: int = 0
) -> None:
    assert report.accepted > 0
    assert report.lost == 0, report
    assert report.duplicate_results == 0, report
    assert report.duplicate_generations <= duplicate_generations, report
    assert not report.usage_error, report  # each finished job's tokens counted once


def test_fifty_concurrent_submits_with_one_key_make_one_job(
    api: httpx.Client, upstream: httpx.Client
) -> None:
    user = f"idem-{uuid.uuid4().hex[:6]}"
    body = {"message": "exactly once", "user_id": user}

    def submit(_: int) -> httpx.Response:
        return api.post("/v1/chat", json=body, headers={"Idempotency-Key": f"key-{user}"})

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(submit, range(50)))
    assert {answer.status_code for answer in answers} == {202}
    job_ids = {answer.json()["id"] for answer in answers}
    assert len(job_ids) == 1
    [job_id] = job_ids
    assert wait_for_job(api, job_id, user)["status"] == "completed"
    assert len(api.get("/v1/jobs", params={"user_id": user}).json()["data"]) == 1
    assert upstream.get("/_offline/stats").json()["responses_created_by_job"][job_id] == 1
    reused = api.post(
        "/v1/chat",
        json={**body, "message": "another body"},
        headers={"Idempotency-Key": f"key-{user}"},
    )
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


def test_a_new_users_concurrent_first_submits_each_make_their_own_job(api: httpx.Client) -> None:
    user = f"newcomer-{uuid.uuid4().hex[:6]}"

    def submit(index: int) -> httpx.Response:
        return api.post("/v1/chat", json={"message": f"first {index}", "user_id": user})

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(submit, range(16)))
    assert [answer.status_code for answer in answers] == [202] * 16
    job_ids = {answer.json()["id"] for answer in answers}
    assert len(job_ids) == 16
    listed = api.get("/v1/jobs", params={"user_id": user, "limit": 100}).json()["data"]
    assert {job["id"] for job in listed} == job_ids


def test_worker_killed_mid_run_loses_and_doubles_nothing(fault_stack: Stack) -> None:
    report = faults.worker_killed(fault_stack, jobs=60, kills=2)
    # A worker killed between sending a create and recording the response id it got back can't
    # resume that response: each job caught there may cost one extra generation (never an extra
    # result), and no other job may.
    assert_nothing_lost_or_doubled(report, duplicate_generations=report.exposed)
    assert report.completed == report.accepted


def test_worker_terminated_finishes_or_returns_its_jobs(fault_stack: Stack) -> None:
    report = faults.worker_terminated(fault_stack, jobs=30)
    assert_nothing_lost_or_doubled(report)
    assert report.completed == report.accepted


def test_redis_restart_during_a_burst_loses_no_accepted_job(fault_stack: Stack) -> None:
    report = faults.redis_restarted(fault_stack, jobs=60)
    assert_nothing_lost_or_doubled(report)
    assert report.completed == report.accepted


def test_a_wait_held_across_a_redis_restart_answers_when_its_job_ends(fault_stack: Stack) -> None:
    """The API's status watch loses its subscription with Redis: the wait polls the database,
    or hears the end once the watch has subscribed again; it does not sleep out its 30 s."""
    with fault_stack.upstream() as upstream:
        upstream.put("/_offline/config", json={"latency_ms": 4000}).raise_for_status()
    user = f"restart-wait-{uuid.uuid4().hex[:8]}"
    try:
        with fault_stack.client() as api, ThreadPoolExecutor(1) as pool:
            job = api.post("/v1/chat", json={"message": "across a restart", "user_id": user})
            assert job.status_code == 202, job.text
            job_id = job.json()["id"]
            started = time.monotonic()
            waited = pool.submit(
                api.get, f"/v1/jobs/{job_id}", params={"wait": 30, "user_id": user}
            )
            time.sleep(1.0)
            fault_stack.restart_redis(down_seconds=0.5)
            answer = waited.result(timeout=45)
            elapsed = time.monotonic() - started
    finally:
        with fault_stack.upstream() as upstream:
            upstream.put("/_offline/config", json={"latency_ms": 0}).raise_for_status()
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "completed", answer.json()
    assert elapsed < 15, elapsed


def test_while_redis_is_down_submits_answer_fast_and_readyz_names_it(fault_stack: Stack) -> None:
    status, body, elapsed = faults.redis_down_readiness(fault_stack)
    assert status == 503
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unavailable")
    assert elapsed < 2.0


def test_flaky_upstream_jobs_complete_or_fail_with_a_clear_code(fault_stack: Stack) -> None:
    report = faults.upstream_flaky(fault_stack, jobs=40)
    assert report.lost == 0 and report.duplicate_results == 0
    assert report.completed > report.accepted // 2
    assert set(report.failures) <= SAFE_FAILURES, report.failures
    assert not report.usage_error, report


def test_a_hanging_upstream_times_out_instead_of_waiting_forever(fault_stack: Stack) -> None:
    report = faults.upstream_hangs(fault_stack, jobs=4)
    assert report.lost == 0
    assert report.failures == {"upstream_timeout": report.accepted}


def test_retry_after_is_honoured_before_giving_up(fault_stack: Stack) -> None:
    faults._configure(fault_stack, faults={"429": 1.0}, retry_after_ms=700)
    user = f"retry-{uuid.uuid4().hex[:6]}"
    try:
        with fault_stack.client() as api:
            started = time.monotonic()
            job = api.post("/v1/chat", json={"message": "hi", "user_id": user}).json()
            done = wait_for_job(api, job["id"], user)
            elapsed = time.monotonic() - started
    finally:
        faults._reset_upstream(fault_stack)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "upstream_rate_limited"
    assert "429" in done["error"]["message"]
    assert elapsed >= 2 * 0.7  # OPENAI_MAX_RETRIES=2 waits of Retry-After each


def test_upstream_refusals_fail_at_once_with_their_code(fault_stack: Stack) -> None:
    user = f"refused-{uuid.uuid4().hex[:6]}"
    with fault_stack.client() as api:
        faults._configure(fault_stack, api_key="sk-some-other-key")
        try:
            started = time.monotonic()
            job = api.post("/v1/chat", json={"message": "hi", "user_id": user}).json()
            done = wait_for_job(api, job["id"], user)
            assert time.monotonic() - started < 2
        finally:
            faults._reset_upstream(fault_stack)
        assert (done["status"], done["error"]["code"], done["attempts"]) == (
            "failed",
            "upstream_auth",
            1,
        )
        job = api.post(
            "/v1/chat", json={"message": "hi", "user_id": user, "model": "invalid-model"}
        ).json()
        done = wait_for_job(api, job["id"], user)
        assert (done["status"], done["error"]["code"]) == ("failed", "invalid_request")
        assert "model" in done["error"]["message"]


def test_database_down_answers_503_and_leaves_nothing_half_written(fault_stack: Stack) -> None:
    report, during = faults.database_down(fault_stack, jobs=20)
    assert during and all(status == 503 for status, _ in during), during
    assert all(elapsed < 8 for _, elapsed in during)
    # A job whose worker could not record its upstream response id while the database was
    # away may be generated again by its next attempt (never stored twice): at most one here.
    assert_nothing_lost_or_doubled(report, duplicate_generations=1)
    assert report.completed == report.accepted


def test_two_beats_at_once_run_nothing_twice(fault_stack: Stack) -> None:
    report = faults.beats_twice(fault_stack, jobs=20)
    assert_nothing_lost_or_doubled(report)
    assert report.completed == report.accepted
