"""Two worker processes on one broker, as `docker compose up --scale worker=2` runs them: every
conversation keeps its order and every job gives exactly one result, whichever worker ran it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness import Stack
from tests.integration.conftest import DATABASES, chat, running, wait_for_job

CONVERSATIONS = 4
TURNS = 8


@pytest.fixture(scope="module", params=DATABASES[-1:])
def two_workers(request: pytest.FixtureRequest) -> Iterator[Stack]:
    # PostgreSQL when there is one (what compose runs); few threads each, so that both workers
    # are needed for the load.
    with running(request, Stack(database=request.param, worker_concurrency=2)) as stack:
        stack.start_worker("worker-2")
        yield stack


def test_order_and_exactly_once_hold_across_two_workers(two_workers: Stack) -> None:
    with two_workers.client() as api, two_workers.upstream() as upstream:
        user = f"scale-{uuid.uuid4().hex[:6]}"
        firsts = [chat(api, user, "turn 0") for _ in range(CONVERSATIONS)]

        def submit(turn: tuple[str, int]) -> tuple[str, str]:
            conversation_id, index = turn
            job = chat(api, user, f"turn {index}", conversation_id=conversation_id)
            return conversation_id, str(job["id"])

        turns = [(first["conversation_id"], n) for n in range(1, TURNS) for first in firsts]
        with ThreadPoolExecutor(16) as pool:
            submitted = list(pool.map(submit, turns))
        all_jobs = [(first["conversation_id"], first["id"]) for first in firsts] + submitted
        done = {job_id: wait_for_job(api, job_id, user) for _, job_id in all_jobs}
        assert {job["status"] for job in done.values()} == {"completed"}

        stats = upstream.get("/_offline/stats").json()
        for first in firsts:
            conversation_id = first["conversation_id"]
            listed = api.get(
                "/v1/jobs",
                params={"user_id": user, "conversation_id": conversation_id, "limit": 20},
            ).json()["data"]
            accepted = [job["id"] for job in reversed(listed)]
            assert len(accepted) == TURNS
            received = [e["job_id"] for e in stats["requests"] if e["job_id"] in set(accepted)]
            assert received == accepted  # the upstream saw the turns in submission order
            replies = [done[job_id]["result"]["output_text"].split("]")[0] for job_id in accepted]
            assert replies == [f"[offline turn {n}" for n in range(1, TURNS + 1)]
        created = stats["responses_created_by_job"]
        assert [created.get(job_id) for _, job_id in all_jobs] == [1] * len(all_jobs)
        assert len({job["result"]["response_id"] for job in done.values()}) == len(all_jobs)

    logs = {name: two_workers.processes[name].log() for name in ("worker", "worker-2")}
    ran = {name: log.count("job finished") for name, log in logs.items()}
    assert all(ran.values()), ran  # both workers took jobs
    assert sum(ran.values()) == len(all_jobs)  # and no job ran twice
    assert not any("job attempt" in log for log in logs.values())  # none abandoned or lost
