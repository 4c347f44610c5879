"""Where a chat job's CPU goes: the worker's `runner.run_job` called in this process, one thread
(no Celery), on jobs submitted to a stack whose worker is stopped; the upstream answers at once.
Prints the CPU and SQL statements a job costs, for jobs that start a conversation and then for
jobs that continue one, and, with --profile, cProfile's top functions by cumulative time for the
first kind; then the CPU of the floors, the steps those jobs cannot skip, made alone through the
SDK's client (the worker's own): a new upstream conversation and a response streamed in it (the
bare Celery task's body, bench/bare_celery.py), and a response streamed in an existing one. Each
line also gives what the offline upstream's process spent serving it: on this machine the
benchmarks' upstream takes cores a real one would not.

    python -m bench.job_cpu [--jobs 200] [--database sqlite|postgresql] [--profile] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import update

from bench.bare_celery import converse, stream_one_response
from bench.common import (
    PRODUCTION_SETTINGS,
    Cost,
    add_cpu_options,
    cost_each,
    databases,
    exit_cleanly_on_sigterm,
    job_timings,
    print_cost,
)
from bench.processes import cpu_spent
from tests.harness import Process, Stack

WARMUP = 20
USERS = 5


@dataclass(frozen=True)
class Measured:
    """What one call costs this process, and what serving it cost the offline upstream's."""

    cost: Cost
    upstream_cpu: float

    def upstream_line(self) -> str:
        each = f"{self.upstream_cpu * 1000:.2f} ms CPU each"
        return f"  serving them cost the offline upstream {each}"


@dataclass(frozen=True)
class JobCpu:
    """A chat job's CPU in a worker's process, against its floor."""

    new_job: Measured  # a chat job that starts a conversation
    continued_job: Measured  # a chat job in a conversation with one exchange
    two_calls: Measured  # floor of the first: conversations.create, a response streamed in it
    one_call: Measured  # floor of the second: a response streamed in an existing conversation
    # The worker's own writes and events for a continuing job, with no upstream call at all.
    bookkeeping: Measured


def measured_with_upstream(upstream: Process, run: Callable[[], Cost], times: int) -> Measured:
    """`run`'s cost, and what its `times` calls each cost the offline upstream's process."""
    with cpu_spent(upstream) as spent:
        cost = run()
    [cpu] = spent
    return Measured(cost, cpu / times)


def measure(database: str, jobs: int, profile: cProfile.Profile | None = None) -> JobCpu:
    """Run `jobs` chat jobs of each kind in this process, and their floors; `profile` watches the
    jobs that start a conversation. This process becomes a worker of a stack of its own."""
    stack = Stack(
        database=database,
        settings={**PRODUCTION_SETTINGS, "OFFLINE_OPENAI_LATENCY_MS": "0"},
    ).start()
    try:
        stack.processes["worker"].stop()
        stack.processes["beat"].stop()
        firsts = submit_chats(stack, [None] * (WARMUP + jobs))
        # This process becomes a worker of the stack: its settings come from the environment.
        os.environ.clear()
        os.environ.update(stack.env())
        from shared.core.openai_client import get_openai_client
        from shared.core.settings import get_settings

        upstream = stack.processes["upstream"]
        new_job = run_jobs(upstream, [job_id for job_id, _ in firsts], profile)
        seconds = submit_chats(stack, [conversation for _, conversation in firsts])
        continued_job = run_jobs(upstream, [job_id for job_id, _ in seconds], None)
        thirds = submit_chats(stack, [conversation for _, conversation in firsts])
        bookkeeping = keep_books(upstream, [job_id for job_id, _ in thirds])
        # A job this process did not run (say, settings read before the environment was set)
        # would make the figures meaningless.
        statuses = Counter(timing.status for timing in job_timings(stack.database_url))
        assert statuses == {"completed": 3 * (WARMUP + jobs)}, f"not every job ran: {statuses}"
        client, model = get_openai_client(), get_settings().OPENAI_MODEL
        conversations: list[str] = []
        two_calls = measured_with_upstream(
            upstream,
            lambda: cost_each(lambda: conversations.append(converse(client, model, "hi")), jobs),
            jobs,
        )
        existing = iter(conversations)
        one_call = measured_with_upstream(
            upstream,
            lambda: cost_each(
                lambda: stream_one_response(client, model, "and then?", next(existing)), jobs
            ),
            jobs,
        )
    finally:
        stack.stop()
    return JobCpu(new_job, continued_job, two_calls, one_call, bookkeeping)


def submit_chats(stack: Stack, conversations: list[str | None]) -> list[tuple[str, str]]:
    """A chat for each of `conversations` (None: a new one); each job's id and conversation."""
    with stack.client() as api:
        answers = []
        for n, conversation in enumerate(conversations):
            body = {"message": f"job {n}", "user_id": f"user-{n % USERS}"}
            if conversation is not None:
                body["conversation_id"] = conversation
            job = api.post("/v1/chat", json=body).raise_for_status().json()
            answers.append((job["id"], job["conversation_id"]))
    return answers


def mark_queued_jobs_sent() -> None:
    """Every queued job claimable, as if its message had arrived."""
    from shared.core.db import write_session
    from shared.core.models import Job
    from shared.jobs import states

    with write_session() as session:
        session.execute(
            update(Job).where(Job.status == states.QUEUED).values(queue_state=states.SENT)
        )


def run_jobs(upstream: Process, job_ids: list[str], profile: cProfile.Profile | None) -> Measured:
    """`runner.run_job` on each of `job_ids` (every queued job claimable, as if its message had
    arrived): the first WARMUP unmeasured, the rest measured."""
    from worker import runner

    mark_queued_jobs_sent()
    for job_id in job_ids[:WARMUP]:
        runner.run_job(job_id)
    measured: Iterator[str] = iter(job_ids[WARMUP:])
    times = len(job_ids) - WARMUP
    return measured_with_upstream(
        upstream, lambda: cost_each(lambda: runner.run_job(next(measured)), times, profile), times
    )


def keep_books(upstream: Process, job_ids: list[str]) -> Measured:
    """For each of `job_ids` (jobs continuing a conversation), what the worker writes and
    publishes for a job through its own functions, without calling the upstream: the claim (and
    its status event), the upstream response's id, one text event, the end with the response in
    the history (and its status event). What the design costs a job at the least, as written."""
    from shared.core.models import Response
    from shared.jobs import events, states
    from shared.jobs.lifecycle import Outcome, claim_job, finish_job, record_upstream_response_id

    mark_queued_jobs_sent()
    usage = {"input_tokens": 12, "output_tokens": 8, "total_tokens": 20}
    text = "[offline] an answer of a few words"
    output = [
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
    ]

    def one(job_id: str) -> None:
        claim = claim_job(job_id)
        assert claim is not None, f"job {job_id} could not be claimed"
        response_id = f"resp_{uuid.uuid4().hex}"
        record_upstream_response_id(claim, response_id)
        events.publish_delta(job_id, text, 3)
        response = Response(
            id=response_id,
            job_id=job_id,
            user_id=claim.user_id,
            conversation_id=claim.conversation_id,
            model="offline",
            status="completed",
            output_text=text,
            input_items=None,
            output=output,
            usage=usage,
        )
        result = {
            "response_id": response_id,
            "output_text": text,
            "output": output,
            "usage": usage,
            "parsed": None,
        }
        assert finish_job(claim, Outcome(states.COMPLETED, result=result, response=response))

    for job_id in job_ids[:WARMUP]:
        one(job_id)
    measured: Iterator[str] = iter(job_ids[WARMUP:])
    times = len(job_ids) - WARMUP
    return measured_with_upstream(
        upstream, lambda: cost_each(lambda: one(next(measured)), times), times
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    add_cpu_options(parser)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    [database] = databases(args.database)  # PostgreSQL needs TEST_DATABASE_URL
    profile = cProfile.Profile(time.process_time) if args.profile else None
    cpu = measure(database, args.jobs, profile)
    lines = [
        (f"{args.jobs} chat jobs starting a conversation ({database})", cpu.new_job, profile),
        (f"{args.jobs} chat jobs continuing one ({database})", cpu.continued_job, None),
        (f"floor: {args.jobs} new conversations and a response in each", cpu.two_calls, None),
        (f"floor: {args.jobs} responses in an existing conversation", cpu.one_call, None),
        (
            f"{args.jobs} continuing jobs' writes and events alone, no upstream",
            cpu.bookkeeping,
            None,
        ),
    ]
    for what, measured, profiled in lines:
        print_cost(what, measured.cost, profiled, args.top, measured.upstream_line())


if __name__ == "__main__":
    main()
