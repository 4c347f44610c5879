"""wrk (Debian's package) driving one POST at saturation, with a Lua script that reports the
summary and the 4xx/5xx answers by status in lines this module parses."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = """
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"

-- Each thread counts its 4xx/5xx answers by status (wrk's own count has no statuses).
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) failed = {{}} end
function response(status, headers, body)
  if status >= 400 then failed[status] = (failed[status] or 0) + 1 end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("failed")) do
      io.write(string.format("STATUS %d %d\\n", status, count))
    end
  end
end
"""


@dataclass(frozen=True)
class Saturation:
    """What wrk measured: req/s counts 2xx/3xx answers only; latencies in seconds."""

    requests: int
    rate: float
    non_2xx: int
    failed: dict[int, int]  # the non-2xx answers by status
    socket_errors: int
    p50: float
    p99: float


def wrk(
    url: str,
    body: str,
    token: str,
    *,
    threads: int,
    connections: int,
    seconds: int,
    workdir: Path,
    timeout_seconds: int = 10,
) -> Saturation:
    """POST `body` (JSON, with the bearer `token`) to `url` over `connections` keep-alive
    connections for `seconds`."""
    script = workdir / "wrk-post.lua"
    script.write_text(SCRIPT.format(body=body, token=token))
    done = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            f"{timeout_seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in done.stdout.splitlines() if line.startswith("BENCH "))
    failed: dict[int, int] = {}
    for status_line in done.stdout.splitlines():
        if status_line.startswith("STATUS "):
            _, code, count = status_line.split()
            failed[int(code)] = failed.get(int(code), 0) + int(count)
    requests, duration_us, connect, read, write, status, timeout, p50, p99 = (
        float(value) for value in line.split()[1:]
    )
    return Saturation(
        requests=int(requests),
        rate=(requests - status) / (duration_us / 1e6),
        non_2xx=int(status),
        failed=failed,
        socket_errors=int(connect + read + write + timeout),
        p50=p50 / 1e6,
        p99=p99 / 1e6,
    )
