"""`make run` (ops/devstack.py under honcho) with a worker killed by SIGKILL mid-run: honcho takes
the whole stack down, the last lines say which process ended and how, and a second `make run`
finishes every accepted job, in order within each conversation, with no extra generation and
no extra result (the database, and the offline upstream's state file, outlived the restart)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests import faults
from tests.harness import ROOT, VENV_BIN, free_port, wait_until

CONVERSATIONS = 12
TURNS = 4


class MakeRun:
    """`python -m ops.devstack` in a directory of its own (its data/), on free ports."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.api_port = free_port()
        self.upstream_port = free_port()
        self.token = "svc_" + secrets.token_urlsafe(32)
        self.database_url = f"sqlite:///{workdir / 'data' / 'app.db'}"
        self.runs = 0
        self.popen: subprocess.Popen[bytes] | None = None
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OPENAI_", "OFFLINE_OPENAI_"))
        }
        self.env.update(
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
            DOTENV_PATH=str(workdir / "no.env"),
            DATABASE_URL=self.database_url,
            REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
            API_PORT=str(self.api_port),
            API_WORKERS="1",
            API_THREADS="16",
            API_METRICS_DIR=str(workdir / "api-metrics"),
            WORKER_CONCURRENCY="8",
            WORKER_METRICS_PORT=str(free_port()),
            BEAT_METRICS_PORT=str(free_port()),
            OFFLINE_OPENAI_PORT=str(self.upstream_port),
            OFFLINE_WEATHER_PORT=str(free_port()),
            OFFLINE_OPENAI_LATENCY_MS="400",
            BOOTSTRAP_TOKEN=self.token,
            LOG_FORMAT="text",
            **faults.FAULT_SETTINGS,
        )

    def log_path(self, run: int) -> Path:
        return self.workdir / f"make-run-{run}.log"

    def start(self) -> None:
        self.runs += 1
        with self.log_path(self.runs).open("wb") as log:
            self.popen = subprocess.Popen(
                [str(VENV_BIN / "python"), "-m", "ops.devstack"],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._ready, timeout=90, what="make run")

    def _ready(self) -> bool:
        assert self.popen is not None and self.popen.poll() is None, self.log()
        answer = httpx.get(f"http://127.0.0.1:{self.api_port}/readyz", timeout=2)
        return answer.status_code == 200 and "ready." in self.log()

    def log(self) -> str:
        return self.log_path(self.runs).read_text(errors="replace")

    def worker_pid(self) -> int:
        """The Celery worker's process (honcho starts it through a shell)."""
        assert self.popen is not None
        for pid in _descendants(self.popen.pid):
            try:
                words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            # `celery -A worker worker …` (beat's is `celery -A worker beat …`)
            if any(w.endswith(b"celery") for w in words) and words.count(b"worker") >= 2:
                return pid
        raise AssertionError("no celery worker under make run")

    def wait_stopped(self, timeout: float = 60) -> int:
        assert self.popen is not None
        return self.popen.wait(timeout)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGINT)  # Ctrl-C
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.api_port}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )

    def upstream(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.upstream_port}", timeout=30)


def _descendants(root: int) -> list[int]:
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        for task in Path(f"/proc/{pid}/task").glob("*"):
            children = (task / "children").read_text().split()
            found += [int(child) for child in children]
            frontier += [int(child) for child in children]
    return found


@pytest.fixture()
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    (tmp_path / "data").mkdir()
    run = MakeRun(tmp_path)
    try:
        yield run
    finally:
        run.stop()


def submit_conversations(make_run: MakeRun, load: faults.Load) -> list[list[str]]:
    """CONVERSATIONS conversations of TURNS turns each, all submitted at once; their job ids."""
    with make_run.client() as api:

        def conversation(index: int) -> list[str]:
            first = api.post(
                "/v1/chat", json={"message": f"Hello, my name is Ada{index}", "user_id": load.user}
            ).json()
            jobs = [first["id"]]
            for turn in range(2, TURNS + 1):
                answer = api.post(
                    "/v1/chat",
                    json={
                        "message": f"turn {turn}: what is my name?",
                        "user_id": load.user,
                        "conversation_id": first["conversation_id"],
                    },
                )
                assert answer.status_code == 202, answer.text
                jobs.append(answer.json()["id"])
            return jobs

        with ThreadPoolExecutor(CONVERSATIONS) as pool:
            chains = list(pool.map(conversation, range(CONVERSATIONS)))
    load.accepted += [job for chain in chains for job in chain]
    return chains


def test_a_worker_killed_under_make_run_stops_it_with_the_reason_and_a_restart_finishes_all(
    make_run: MakeRun,
) -> None:
    make_run.start()
    load = faults.Load(make_run, f"makerun-{uuid.uuid4().hex[:6]}")  # type: ignore[arg-type]
    chains = submit_conversations(make_run, load)
    time.sleep(1.5)  # jobs are running, each upstream call takes 400 ms

    os.kill(make_run.worker_pid(), signal.SIGKILL)
    killed_at = time.time()
    exposed = faults.running_without_response_id(make_run.database_url)
    make_run.wait_stopped()
    last_lines = make_run.log().strip().splitlines()[-3:]
    assert any("make run stopped: worker was killed by SIGKILL" in line for line in last_lines), (
        last_lines
    )
    assert "Troubleshooting in README.md" in last_lines[-1]

    make_run.start()
    finals = load.settle(timeout=120)
    report = load.audit("worker SIGKILL, make run restarted", finals, killed_at)
    print(report)
    assert report.lost == 0, report
    assert report.completed == report.accepted == CONVERSATIONS * TURNS, report
    assert report.duplicate_results == 0, report
    assert not report.usage_error, report  # each job's tokens counted once across the restart
    # As in the worker-killed scenario: only a job caught between sending its create and
    # recording the response id may be generated twice (never stored twice).
    assert report.duplicate_generations <= exposed, (report, exposed)
    for index, chain in enumerate(chains):
        replies = [finals[job]["result"]["output_text"] for job in chain]
        for turn, reply in enumerate(replies, start=1):
            # Each turn saw every earlier one: in order, with the conversation's memory.
            assert reply.startswith(f"[offline turn {turn}]"), (index, replies)
        assert all(f"Ada{index}" in reply for reply in replies[1:]), replies

    make_run.stop()  # Ctrl-C: stopped on purpose, nothing to explain
    assert "make run stopped:" not in make_run.log()
