"""Why `make run` stopped: honcho stops every process when one exits; this names the one that did.

Honcho prints "<name> stopped (rc=N)" for each process as it goes, the first among lines about the
others it then stops, so the cause scrolls away; the devstack repeats it last, in words.
"""

from __future__ import annotations

import re
import signal
from typing import Any

from honcho.printer import Printer

_STOPPED = re.compile(r"^(?P<name>\S+) stopped \(rc=(?P<rc>-?\d+)\)")
_SIGNAL_RECEIVED = re.compile(r"^SIG\w+ received")
_SIGNALS = {sig.value: sig.name for sig in signal.Signals}


class StopWatch(Printer):  # type: ignore[misc]
    """honcho's printer, remembering the process that stopped first (unless we were told to
    stop, by Ctrl-C or a SIGTERM, first)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first_stop: tuple[str, int] | None = None
        self.asked_to_stop = False

    def write(self, message: Any) -> None:
        super().write(message)
        if message.name != "system" or self.asked_to_stop or self.first_stop is not None:
            return
        text = str(message.data)
        if _SIGNAL_RECEIVED.match(text):
            self.asked_to_stop = True
        elif stopped := _STOPPED.match(text):
            self.first_stop = (stopped["name"], int(stopped["rc"]))


def describe_exit(returncode: int) -> str:
    """How a process ended, from its return code (negative: the signal that killed it; above
    128: the status a shell reports for a command a signal killed)."""
    if returncode < 0:
        return f"was killed by {_signal_name(-returncode)}"
    if returncode > 128 and returncode - 128 in _SIGNALS:
        return f"was killed by {_signal_name(returncode - 128)} (status {returncode})"
    return f"exited with status {returncode}"


def _signal_name(number: int) -> str:
    return _SIGNALS.get(number, f"signal {number}")


def stop_report(name: str, returncode: int) -> str:
    """What to print last when process `name` ended and took the stack down with it."""
    return (
        f"make run stopped: {name} {describe_exit(returncode)}, and the other processes were "
        f"stopped with it (the lines above, before 'sending SIGTERM', say why {name} ended).\n"
        "Nothing accepted is lost: jobs, conversations and the offline upstream's state are on "
        "disk, and unfinished jobs carry on once it is back. Run `make run` again; if it stops "
        "again, see Troubleshooting in README.md."
    )
