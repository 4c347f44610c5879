"""`make run-local-model`: the whole stack (as `make run`) against the local model chain, so real
generated text comes back with no internet and no key.

Starts llama.cpp's server with Gemma 3 270M, the recording proxy and LiteLLM on free loopback
ports, then `python -m ops.devstack` with OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL
pointing at LiteLLM (with a key set, devstack starts no offline upstream); the worker's probe
finds LiteLLM keeps no history and picks `local`. Ctrl-C stops it all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.compat.chain import MODEL_NAME, LocalChain
from tests.harness import ROOT

PROJECT_PYTHON = Path(sys.executable)


def main() -> int:
    try:
        return run()
    except KeyboardInterrupt:
        return 130


def run() -> int:
    print("Starting the local model chain (llama.cpp + Gemma 3 270M, LiteLLM)…", flush=True)
    with LocalChain(workdir=ROOT / "data" / "local-model", keep=True) as chain:
        print(
            f"Model {MODEL_NAME} answers through LiteLLM at {chain.base_url} "
            f"(logs in {chain.workdir}). Gemma 3 270M is tiny: expect short, odd answers.",
            flush=True,
        )
        env = {**os.environ, **chain.gateway_settings()}
        # LiteLLM without a database takes previous_response_id but drops the earlier turns,
        # and `auto` would pick it: our stored history keeps conversations' memory instead.
        devstack = subprocess.Popen([str(PROJECT_PYTHON), "-m", "ops.devstack"], env=env)
        # A SIGTERM to us alone reaches devstack too; then `with` stops the chain.
        signal.signal(signal.SIGTERM, lambda *_: devstack.terminate())
        try:
            return devstack.wait()
        except KeyboardInterrupt:
            # The terminal's Ctrl-C reached devstack too; give it time to stop its processes.
            try:
                return devstack.wait(timeout=30)
            except subprocess.TimeoutExpired:
                devstack.send_signal(signal.SIGTERM)
                return devstack.wait()


if __name__ == "__main__":
    sys.exit(main())
