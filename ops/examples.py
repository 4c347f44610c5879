"""`make examples`: start the stack as `make run` does (ops/devstack.py), offline, on free ports in
a temporary directory; run every script in examples/ against it; print one line each (name,
ok|failed, seconds), then the output of those that failed; exit 1 if one failed."""

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"
EXAMPLE_USER = "example-user"

# Every example, with the arguments `make examples` runs it with.
EXAMPLES: Mapping[str, tuple[str, ...]] = {
    "text_completion": (),
    "image_url": (),
    "image_upload": (),
    "pdf_url": (),
    "pdf_upload": (),
    "web_search": (),
    "function_calling": (),
    "remote_mcp": (),
    "streaming": (),
    "structured_output": (),
    "retrieve_response": (),
    "conversation_basic": (),
    "multi_user_chat": (),
    "persistent_memory": (),
    "conversation_metadata": (),
    "weather_stateless": ("--once", "What's the weather in Paris?"),
    "weather_sessions": ("--once", "What's the weather in Oslo?"),
    "weather_advanced_sessions": ("--once", "What's the weather in Tokyo?"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DevStack:
    """`python -m ops.devstack` (what `make run` runs) with no OpenAI key, in its own directory,
    on free ports; `with DevStack() as stack:` waits until the API is ready."""

    settings: dict[str, str] = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gw-devstack-")))
    token: str = field(default_factory=lambda: "gw_dev_" + secrets.token_urlsafe(32))
    api_port: int = field(default_factory=free_port)
    # The local MCP server the remote_mcp example starts, which the stack allow-lists.
    mcp_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "devstack.log"

    def env(self) -> dict[str, str]:
        own = ("OPENAI_", "OFFLINE_", "WEATHER_", "GEOCODING_", "MCP_", "DATABASE_", "REDIS_")
        env = {key: value for key, value in os.environ.items() if not key.startswith(own)}
        env.update(
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
            DOTENV_PATH=str(self.workdir / "no.env"),
            BOOTSTRAP_TOKEN=self.token,
            REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
            API_PORT=str(self.api_port),
            API_WORKERS="1",
            API_METRICS_DIR=str(self.workdir / "api-metrics"),
            WORKER_CONCURRENCY="8",
            WORKER_METRICS_PORT="0",
            BEAT_METRICS_PORT="0",
            OFFLINE_OPENAI_PORT=str(free_port()),
            OFFLINE_WEATHER_PORT=str(free_port()),
            MCP_ALLOWED_URLS=f"http://127.0.0.1:{self.mcp_port}/mcp",
        )
        env.update(self.settings)
        return env

    def __enter__(self) -> DevStack:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ops.devstack"],
                cwd=self.workdir,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.log()
                self.__exit__()
                raise RuntimeError(f"the stack did not start:\n{output[-4000:]}")
            time.sleep(0.2)
        return self

    def _ready(self) -> bool:
        try:
            ready = httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
        return ready and "ready." in self.log()  # the Celery worker's start-up line

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # honcho stops every process on Ctrl-C
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def example_env(self) -> dict[str, str]:
        """The environment an example reads: what `make run` prints, for one user."""
        return {
            **os.environ,
            "GATEWAY_URL": self.url,
            "GATEWAY_TOKEN": self.token,
            "GATEWAY_USER": EXAMPLE_USER,
            "MCP_EXAMPLE_PORT": str(self.mcp_port),
        }


def run_example(
    name: str,
    args: tuple[str, ...],
    env: Mapping[str, str],
    cwd: Path,
    timeout: float = 120,
    stdin: str = "",
) -> tuple[bool, str, float]:
    """Run examples/<name>.py, typing `stdin` at its prompts; answer (succeeded, its output,
    seconds)."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, str(EXAMPLES_DIR / f"{name}.py"), *args],
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
        )
    except subprocess.TimeoutExpired as exc:
        partial = exc.output or b""
        text = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
        output = f"{text}\n(timed out after {timeout:g} s)"
        return False, output, time.monotonic() - started
    return done.returncode == 0, done.stdout + done.stderr, time.monotonic() - started


def main() -> int:
    failures: list[tuple[str, str]] = []
    with DevStack() as stack:
        print(f"stack ready at {stack.url}", flush=True)
        for name, args in EXAMPLES.items():
            ok, output, seconds = run_example(name, args, stack.example_env(), stack.workdir)
            print(f"{name:<28} {'ok' if ok else 'failed':<7} {seconds:5.1f}", flush=True)
            if not ok:
                failures.append((name, output))
    for name, output in failures:
        print(f"\n--- {name}\n{output.rstrip()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
