"""Processes for the benchmarks: CPU, RSS and connections (psutil), a peak sampler, and starting
gunicorn apps, Celery workers and the offline upstream beside (or without) a harness Stack."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

from tests.harness import VENV_BIN, Process, Stack, free_port, wait_until

# How the product's API runs in production: gthread, API_WORKERS x API_THREADS (2 x 32 by
# default), from the gunicorn config that `make run`, the Dockerfile and compose use.
PRODUCT_GUNICORN = ["-c", "python:api.gunicorn_config"]


def clean_env() -> dict[str, str]:
    """This environment without upstream settings a shell or .env may hold (a real key, faults)."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "OFFLINE_OPENAI_"))
    }


def pid_of(process: Process) -> int:
    assert process.popen is not None, f"{process.name} was never started"
    return process.popen.pid


def _tree(pid: int) -> list[psutil.Process]:
    """`pid` and every process descended from it (gunicorn's master and its workers)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of `pid` and its descendants alive now, in seconds."""
    total = 0.0
    for member in _tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = member.cpu_times()
            total += times.user + times.system
    return total


@contextmanager
def cpu_spent(*processes: Process) -> Iterator[list[float]]:
    """The CPU seconds each of `processes` (with its descendants) spends inside the block: the
    list yielded is filled, in their order, when the block ends."""
    pids = [pid_of(process) for process in processes]
    before = [cpu_seconds(pid) for pid in pids]
    spent: list[float] = []
    yield spent
    spent.extend(cpu_seconds(pid) - start for pid, start in zip(pids, before, strict=True))


def rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and its descendants, in bytes."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += member.memory_info().rss
    return total


def established_connections(port: int) -> int:
    """Open TCP connections accepted on loopback `port` (the server's side of each)."""
    return sum(
        1
        for connection in psutil.net_connections("tcp")
        if connection.status == psutil.CONN_ESTABLISHED
        and connection.laddr
        and connection.laddr.port == port
    )


class PeakSampler:
    """Samples a few gauges every `interval` seconds on a thread and keeps each one's peak."""

    def __init__(self, gauges: Mapping[str, Callable[[], float]], interval: float = 0.1) -> None:
        self.gauges = gauges
        self.interval = interval
        self.peaks: dict[str, float] = dict.fromkeys(gauges, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-sampler", daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for name, gauge in self.gauges.items():
                with contextlib.suppress(OSError):  # a process may go between two reads
                    self.peaks[name] = max(self.peaks[name], gauge())


@contextmanager
def spawned(name: str, args: list[str], env: dict[str, str], workdir: Path) -> Iterator[Process]:
    """A child process (output in workdir/<name>.log) stopped when the block ends."""
    process = Process(name, args, env, workdir).start()
    try:
        yield process
    finally:
        process.stop()


@contextmanager
def gunicorn(
    name: str,
    app: str,
    options: list[str],
    env: dict[str, str],
    workdir: Path,
    ready_path: str = "/healthz",
) -> Iterator[tuple[Process, str]]:
    """`gunicorn <options> <app>` on a free loopback port; yields the process and its URL."""
    port = free_port()
    args = [str(VENV_BIN / "gunicorn"), *options, "--bind", f"127.0.0.1:{port}", app]
    with spawned(name, args, env, workdir) as process:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(process, f"{url}{ready_path}")
        yield process, url


def serve_product_api(stack: Stack, threads: int | None = None) -> Process:
    """Swap the harness's API (16 threads a worker) for one under the production gunicorn
    settings, on the same port; `threads` overrides API_THREADS (long polls hold a thread)."""
    stack.processes["api"].stop()
    env = stack.env()
    if threads is not None:
        env["API_THREADS"] = str(threads)
    args = [
        str(VENV_BIN / "gunicorn"),
        *PRODUCT_GUNICORN,
        "--bind",
        f"127.0.0.1:{stack.api_port}",
        "api:create_app()",
    ]
    process = Process("api-production", args, env, stack.workdir).start()
    stack.processes["api"] = process
    _wait_ready(process, f"{stack.api_url}/readyz")
    return process


def start_bare_celery_worker(stack: Stack, concurrency: int) -> Process:
    """A Celery worker for bench.bare_celery on the stack's Redis, threads pool like the
    product's worker; stopped with the stack."""
    args = [
        str(VENV_BIN / "celery"),
        "-A",
        "bench.bare_celery",
        "worker",
        "--loglevel",
        "INFO",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "-Q",
        "bare",
        "--without-gossip",
        "--without-mingle",
    ]
    process = Process("bare-worker", args, stack.env(), stack.workdir).start()
    stack.processes["bare-worker"] = process
    wait_until(lambda: " ready." in process.log(), timeout=30, what="bare celery worker")
    return process


@contextmanager
def offline_upstream(workdir: Path, latency_ms: int) -> Iterator[tuple[str, Process]]:
    """The offline upstream alone (for the baselines that have no Stack); yields its URL and
    process."""
    port = free_port()
    env = clean_env()
    env["OFFLINE_OPENAI_LATENCY_MS"] = str(latency_ms)
    args = [str(VENV_BIN / "python"), "-m", "offline_openai", "--port", str(port)]
    with spawned("offline-upstream", args, env, workdir) as process:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(process, f"{url}/_offline/config")
        yield url, process


def _wait_ready(process: Process, url: str) -> None:
    def answers() -> bool:
        if process.popen is not None and process.popen.poll() is not None:
            raise SystemExit(f"{process.name} exited:\n{process.log()[-3000:]}")
        return httpx.get(url, timeout=2).status_code == 200

    wait_until(answers, timeout=60, what=url)
