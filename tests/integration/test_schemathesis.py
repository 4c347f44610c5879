"""Every operation of /openapi.json, fuzzed by schemathesis with a valid token: no 5xx, and every
answer (status, content type, headers, body) as documented."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.harness import VENV_BIN, Stack
from tests.integration.conftest import DATABASES

# Fuzzing is the suite's costliest test: it runs once, on PostgreSQL when there is one (what
# compose runs, and the stricter store: it refuses NUL in text, which SQLite keeps).
pytestmark = pytest.mark.parametrize("stack", DATABASES[-1:], indirect=True)

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance"
)


def test_fuzzing_every_operation_finds_no_server_error_or_undocumented_answer(
    stack: Stack, tmp_path: Path
) -> None:
    token = stack.flask("tokens", "create", f"fuzzer-{uuid.uuid4().hex[:6]}")
    run = subprocess.run(
        [
            str(VENV_BIN / "schemathesis"),
            "run",
            f"{stack.api_url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            "60",
            "--checks",
            CHECKS,
            "--seed",
            "20261125",
            "--request-timeout",
            "40",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = run.stdout[-4000:]
    assert run.returncode == 0, summary
    generated = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert generated, summary
    assert int(generated[1]) >= 1000 and generated[1] == generated[2], summary
    operations = re.search(r"Selected: (\d+)/(\d+)", run.stdout)
    tested = re.search(r"Tested: (\d+)", run.stdout)
    assert operations and tested, summary
    assert operations[1] == operations[2] == tested[1], summary
