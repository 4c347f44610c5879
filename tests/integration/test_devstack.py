"""`make run` as a new user runs it from a fresh clone: BOOTSTRAP_TOKEN set, the database
elsewhere, on a terminal. The whole stack starts (beat too), its logs are text, and neither the
housekeeping ticks nor a job's Celery and HTTP chatter write INFO lines."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.harness import ROOT, VENV_BIN, free_port, wait_until

TOKEN = "gw_new_user_" + secrets.token_urlsafe(32)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Terminal:
    """`python -m ops.devstack` in `cwd` with a pseudo-terminal as its output."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [str(VENV_BIN / "python"), "-m", "ops.devstack"],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self._master = master
        self._chunks: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(self._master, 65536):
                self._chunks.append(chunk)

    @property
    def output(self) -> str:
        return ANSI.sub("", b"".join(self._chunks).decode(errors="replace"))

    def stop(self) -> None:
        """Ctrl-C, as a user stops it; whatever is left after 30 s is killed."""
        root = psutil.Process(self.process.pid)
        family = [root, *root.children(recursive=True)]
        self.process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(30)
        for member in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                if member.is_running() and member.status() != psutil.STATUS_ZOMBIE:
                    member.kill()
        self.process.wait(10)
        os.close(self._master)


@pytest.fixture()
def fresh_clone(tmp_path: Path) -> Iterator[tuple[Terminal, str, Path]]:
    clone, elsewhere = tmp_path / "clone", tmp_path / "elsewhere"
    clone.mkdir()
    elsewhere.mkdir()
    api_port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "OFFLINE_OPENAI_", "LOG_", "DOTENV_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        BOOTSTRAP_TOKEN=TOKEN,
        DATABASE_URL=f"sqlite:///{elsewhere / 'app.db'}",
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        API_PORT=str(api_port),
        API_WORKERS="1",
        API_METRICS_DIR=str(elsewhere / "api-metrics"),
        OFFLINE_OPENAI_PORT=str(free_port()),
        OFFLINE_WEATHER_PORT=str(free_port()),
        WORKER_CONCURRENCY="4",
        WORKER_METRICS_PORT="0",
        BEAT_METRICS_PORT="0",
        RECONCILE_SECONDS="1",
    )
    terminal = Terminal(clone, env)
    try:
        yield terminal, f"http://127.0.0.1:{api_port}", clone
    finally:
        terminal.stop()


def test_make_run_starts_whatever_the_settings_and_talks_text(
    fresh_clone: tuple[Terminal, str, Path],
) -> None:
    terminal, url, clone = fresh_clone

    def ready() -> bool:
        assert terminal.process.poll() is None, terminal.output[-3000:]
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200

    wait_until(ready, timeout=180, what="make run's API")
    wait_until(lambda: " ready." in terminal.output, timeout=120, what="make run's worker")
    headers = {"Authorization": f"Bearer {TOKEN}", "Prefer": "wait=60"}
    answer = httpx.post(
        f"{url}/v1/chat", json={"message": "hi", "user_id": "ada"}, headers=headers, timeout=90
    )
    assert answer.json()["status"] == "completed", answer.text
    wait_until(lambda: "job finished: completed" in terminal.output, what="the job's line")
    time.sleep(3)  # three reconcile ticks of beat, each a task on the worker

    output = terminal.output
    assert "beat: Starting" in output
    assert list((clone / "data").glob("celerybeat-schedule*"))
    assert not re.search(r"^\S+ (beat|worker|api)\.\d+\s+\| .*exited", output, re.M), output
    assert "INFO" in output and not re.search(r"\| \{\"time\"", output)  # text, not JSON
    assert output.count("job finished: completed") == 1
    for routine in ("job started", "] received", "] succeeded in", "Sending due task", "HTTP Req"):
        assert routine not in output, routine
