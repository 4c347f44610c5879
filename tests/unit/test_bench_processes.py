"""The benchmarks' process figures: CPU and memory of a process with its children, connections."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from bench.processes import cpu_seconds, established_connections, rss_bytes

# A parent that starts a child; each burns about 0.3 s of CPU, then both sleep.
FAMILY = """
import subprocess, sys, time
burn = "import time\\nend = time.process_time() + 0.3\\nwhile time.process_time() < end: pass"
then = "\\nprint('burnt', flush=True)\\ntime.sleep(60)"
child = subprocess.Popen([sys.executable, "-c", burn + then])
exec(burn)
print("burnt", flush=True)
time.sleep(60)
"""


@pytest.fixture()
def family() -> Iterator[subprocess.Popen[str]]:
    parent = subprocess.Popen([sys.executable, "-c", FAMILY], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    try:
        assert [parent.stdout.readline(), parent.stdout.readline()] == ["burnt\n"] * 2
        yield parent
    finally:
        for member in psutil.Process(parent.pid).children(recursive=True):
            member.kill()
        parent.kill()
        parent.wait()


def test_cpu_and_memory_count_the_children(family: subprocess.Popen[str]) -> None:
    assert cpu_seconds(family.pid) >= 0.55
    parent_alone = psutil.Process(family.pid).memory_info().rss
    assert rss_bytes(family.pid) > parent_alone + 1024 * 1024


def test_a_process_gone_counts_nothing() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert (cpu_seconds(gone.pid), rss_bytes(gone.pid)) == (0.0, 0)


def test_established_connections_counts_the_accepted_ones() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert established_connections(port) == 0
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            with accepted:
                deadline = time.monotonic() + 5
                while established_connections(port) != 1 and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert established_connections(port) == 1
                assert client.getsockname()[1] != port
