"""Real processes for integration tests: redis-server, the offline upstream, Celery worker and
beat, and the API under gunicorn, each on a free port, with settings passed in the environment."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from tests.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, timeout: float = 20.0, interval: float = 0.05, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what or check}: {last_error}")


class Process:
    """A child process whose output goes to a log file we can read back."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = logdir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.popen = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, signum: int) -> None:
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, signum)

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(5)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.popen:
            self.popen.wait(5)


def fresh_postgres_database(base_url: str) -> tuple[str, Any]:
    """Create an empty database next to the one TEST_DATABASE_URL names; answer (url, dropper)."""
    url = make_url(base_url)
    name = f"gw_test_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    fresh = url.set(drivername="postgresql+psycopg", database=name)
    return fresh.render_as_string(hide_password=False), drop


@dataclass
class Stack:
    """The whole product on loopback. `settings` are extra environment variables for all parts."""

    database: str = "sqlite"
    settings: dict[str, str] = field(default_factory=dict)
    proxy_database: bool = False  # PostgreSQL behind a TcpProxy the test can cut
    worker_concurrency: int = 8
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gw-stack-")))
    token: str = field(default_factory=lambda: "svc_" + secrets.token_urlsafe(32))
    processes: dict[str, Process] = field(default_factory=dict)
    _drop_database: Any = None

    def __post_init__(self) -> None:
        self.redis_port = free_port()
        self.upstream_port = free_port()
        self.api_port = free_port()
        self.worker_metrics_port = free_port()
        self.beat_metrics_port = free_port()
        self.database_url = self._make_database()

    def _make_database(self) -> str:
        if self.database == "postgresql":
            url, self._drop_database = fresh_postgres_database(os.environ["TEST_DATABASE_URL"])
            if self.proxy_database:
                parsed = make_url(url)
                self.database_proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
                url = parsed.set(host="127.0.0.1", port=self.database_proxy.port).render_as_string(
                    hide_password=False
                )
            return url
        return f"sqlite:///{self.workdir / 'app.db'}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def upstream_url(self) -> str:
        return f"http://127.0.0.1:{self.upstream_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OPENAI_", "OFFLINE_OPENAI_"))
        }
        env.update(
            DOTENV_PATH=str(self.workdir / "no.env"),
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            OPENAI_BASE_URL=f"{self.upstream_url}/v1",
            OPENAI_API_KEY="sk-test-offline-key",
            OPENAI_MAX_RETRIES="2",
            OPENAI_TIMEOUT_SECONDS="10",
            BOOTSTRAP_TOKEN=self.token,
            LOG_LEVEL="INFO",
            JOB_LEASE_SECONDS="6",
            RECONCILE_SECONDS="1",
            RESEND_AFTER_SECONDS="5",
            PYTHONUNBUFFERED="1",
            API_METRICS_DIR=str(self.workdir / "api-metrics"),
            WORKER_METRICS_PORT=str(self.worker_metrics_port),
            BEAT_METRICS_PORT=str(self.beat_metrics_port),
            OFFLINE_OPENAI_STATE=str(self.workdir / "offline-openai.db"),
            # The offline upstream's models that stop short, fail, or don't exist.
            ALLOWED_MODELS="short-model,failing-model,invalid-model",
        )
        env.update(self.settings)
        return env

    def start(self) -> Stack:
        """Start every process; if one fails to come up, stop those already started."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Stack:
        env = self.env()
        self.start_redis()
        self.start_upstream(wait=False)
        subprocess.run(
            [str(VENV_BIN / "python"), "-m", "shared.core.migrate"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        # Worker, beat and API boot side by side (imports take seconds each); then wait for all.
        worker = self.start_worker(wait=False)
        self.start_beat()
        self._spawn(
            "api",
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "python:api.gunicorn_config",
                "--bind",
                f"127.0.0.1:{self.api_port}",
                "--threads",
                "16",
                "api:create_app()",
            ],
            env,
        )
        self._wait_upstream()
        self._wait_ready(worker)
        wait_until(lambda: httpx.get(f"{self.api_url}/readyz").status_code == 200, what="api")
        return self

    def start_upstream(self, wait: bool = True) -> None:
        self._spawn(
            "upstream",
            [str(VENV_BIN / "python"), "-m", "offline_openai", "--port", str(self.upstream_port)],
            self.env(),
        )
        if wait:
            self._wait_upstream()

    def restart_upstream(self, kill: bool = False) -> None:
        """Stop the offline upstream (SIGKILL if `kill`) and start it again on its state file."""
        upstream = self.processes["upstream"]
        if kill:
            upstream.kill()
        else:
            upstream.stop()
        self.start_upstream()

    def _wait_upstream(self) -> None:
        wait_until(
            lambda: httpx.get(f"{self.upstream_url}/_offline/config").status_code == 200,
            what="offline upstream",
        )

    def start_redis(self) -> None:
        self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            self.env(),
        )
        wait_until(lambda: self._redis_answers(), what="redis-server")

    def restart_redis(self, down_seconds: float = 0.0) -> None:
        """Kill redis-server (it keeps nothing) and start an empty one on the same port."""
        self.processes["redis"].kill()
        time.sleep(down_seconds)
        self.start_redis()

    def _redis_answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def start_worker(self, name: str = "worker", wait: bool = True) -> Process:
        process = self._spawn(
            name,
            [
                str(VENV_BIN / "celery"),
                "-A",
                "worker",
                "worker",
                "--loglevel",
                "INFO",
                "--pool",
                "threads",
                "--concurrency",
                str(self.worker_concurrency),
                "--hostname",
                f"{name}-{uuid.uuid4().hex[:6]}@%h",
                "-Q",
                "jobs,maintenance,webhooks",
                "--without-gossip",
                "--without-mingle",
            ],
            self.env(),
        )
        if wait:
            self._wait_ready(process)
        return process

    def _wait_ready(self, worker: Process) -> None:
        # A busy machine (2 shared cores) can take well over 30 s to import and boot a worker.
        wait_until(lambda: " ready." in worker.log(), timeout=90, what=f"celery {worker.name}")

    def start_beat(self, name: str = "beat") -> Process:
        return self._spawn(
            name,
            [
                str(VENV_BIN / "celery"),
                "-A",
                "worker",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.workdir / f"{name}-schedule"),
            ],
            self.env(),
        )

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> Process:
        process = Process(name, args, env, self.workdir).start()
        self.processes[name] = process
        return process

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
        if self._drop_database:
            self._drop_database()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=60,
        )

    def upstream(self) -> httpx.Client:
        return httpx.Client(base_url=self.upstream_url, timeout=30)

    def flask(self, *args: str) -> str:
        """Run `flask --app api ...` against this stack's database; answer its output."""
        done = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "api", *args],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def logs(self, limit: int | None = 5000) -> str:
        """Every process's log (the last `limit` characters of each)."""
        return "\n".join(
            f"==> {name}\n{p.log()[-limit if limit else 0 :]}" for name, p in self.processes.items()
        )
