"""make run's last words: the process that took the stack down, and how it ended."""

from __future__ import annotations

import io
from datetime import datetime

from honcho.printer import Message

from ops.stop_reason import StopWatch, describe_exit, stop_report


def system(text: str) -> Message:
    return Message(type="line", data=text, time=datetime.now(), name="system", colour=None)


def test_the_first_process_to_stop_is_the_one_named() -> None:
    watch = StopWatch(output=io.StringIO())
    for line in (
        "worker started (pid=10)\n",
        "worker stopped (rc=-9)\n",
        "sending SIGTERM to api (pid 11)\n",
        "api stopped (rc=0)\n",
    ):
        watch.write(system(line))
    assert watch.first_stop == ("worker", -9)
    assert "worker stopped (rc=-9)" in watch.output.getvalue()  # honcho's own lines still print


def test_a_stop_asked_for_with_ctrl_c_names_no_culprit() -> None:
    watch = StopWatch(output=io.StringIO())
    watch.write(system("SIGINT received\n"))
    watch.write(system("worker stopped (rc=-2)\n"))
    assert watch.first_stop is None


def test_a_process_line_that_looks_like_a_stop_is_not_one() -> None:
    watch = StopWatch(output=io.StringIO())
    line = Message(
        type="line", data="x stopped (rc=1)\n", time=datetime.now(), name="api", colour=None
    )
    watch.write(line)
    assert watch.first_stop is None


def test_exits_are_described_in_words() -> None:
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert describe_exit(137) == "was killed by SIGKILL (status 137)"
    assert describe_exit(1) == "exited with status 1"
    assert describe_exit(0) == "exited with status 0"


def test_the_report_names_the_process_and_what_to_do() -> None:
    report = stop_report("worker", -9)
    assert report.startswith("make run stopped: worker was killed by SIGKILL")
    assert "make run` again" in report and "Troubleshooting in README.md" in report
