"""The live status line of `gateway chat` on a terminal: state and elapsed time, on stderr."""

from __future__ import annotations

import threading
import time
from typing import TextIO

CLEAR = "\r\x1b[K"
TICK_SECONDS = 0.1


class StatusLine:
    """Streams reply text to `out` and, when `live`, redraws `label · elapsed` on `err`.

    The line is drawn only while the reply text sits at the start of a line, so the two never
    interleave; `finish` ends the text and leaves the final state on a line of its own.
    """

    def __init__(self, out: TextIO, err: TextIO, *, live: bool) -> None:
        self.out = out
        self.err = err
        self.live = live
        self.label = "queued"
        self.started = time.monotonic()
        self.text_written = ""
        self._mid_line = False
        self._shown = False
        self._paused = False
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self) -> StatusLine:
        if self.live:
            self._ticker = threading.Thread(target=self._tick, name="status-line", daemon=True)
            self._ticker.start()
        return self

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def set(self, label: str) -> None:
        with self._lock:
            self.label = label
            self._draw()

    def text(self, delta: str) -> None:
        if not delta:
            return
        with self._lock:
            self._clear()
            self.out.write(delta)
            self.out.flush()
            self.text_written += delta
            self._mid_line = not delta.endswith("\n")
            self._draw()

    def end_text(self) -> None:
        with self._lock:
            if self._mid_line:
                self.out.write("\n")
                self.out.flush()
                self._mid_line = False

    def hide(self) -> None:
        """Clears the line and stops redrawing it until `show` (while a prompt is up)."""
        with self._lock:
            self._paused = True
            self._clear()

    def show(self) -> None:
        with self._lock:
            self._paused = False
            self._draw()

    def finish(self, label: str) -> None:
        """Stops the ticker and leaves `label · elapsed` on its own line (on a terminal)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(1)
        with self._lock:
            self.end_text()
            self.label = label
            if self.live:
                self._clear()
                self.err.write(f"{self._render()}\n")
                self.err.flush()

    def _render(self) -> str:
        return f"[{self.label}] {self.elapsed():.1f}s"

    def _draw(self) -> None:
        if not self.live or self._mid_line or self._paused or self._stop.is_set():
            return
        self.err.write(CLEAR + self._render())
        self.err.flush()
        self._shown = True

    def _clear(self) -> None:
        if self._shown:
            self.err.write(CLEAR)
            self.err.flush()
            self._shown = False

    def _tick(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            with self._lock:
                self._draw()
