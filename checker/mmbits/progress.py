"""Progress on stderr for runs longer than about a second.

One helper for every command, so they all behave alike: nothing for a short
run; on a terminal a line that updates in place ("checking configs 1200/5400"),
with `~` before the denominator when it is an estimate (emulator states); when
stderr is not a terminal (CI logs, pipes) one summary line at the end instead
("mmbits: checking: 5400 configs in 2.3 s"), so logs stay readable.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

DELAY = 1.0  # seconds before anything is shown
_REFRESH = 0.1  # seconds between terminal updates


class Progress:
    """Call `update(done)` (or `advance(n)`) as work completes, `close()` at the end.

    `total` is the true amount of work (configs, reports, schedules); pass
    `estimate=True` when it is only an estimate, and `set_total` when a better
    one is known. Usable as a context manager.
    """

    def __init__(self, total: int | None, unit: str, verb: str = "processing", *, estimate: bool = False,
                 stream: TextIO | None = None, delay: float = DELAY) -> None:
        self.total = total
        self.unit = unit
        self.verb = verb
        self.estimate = estimate
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.done = 0
        self.start = time.monotonic()
        self._shown = False
        self._last = 0.0
        self._width = 0
        self.tty = _isatty(self.stream) and os.environ.get("TERM") != "dumb"

    def set_total(self, total: int, *, estimate: bool = False) -> None:
        self.total, self.estimate = total, estimate

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    def update(self, done: int, total: int | None = None) -> None:
        """`done` units finished so far (and, optionally, a better total)."""
        self.done = done
        if total is not None:
            self.total = total
        if not self.tty:
            return
        now = time.monotonic()
        if now - self.start < self.delay or now - self._last < _REFRESH:
            return
        self._last = now
        self._write("\r" + self._line(now).ljust(self._width))

    __call__ = update

    def _line(self, now: float) -> str:
        if self.total:
            approx = "~" if self.estimate else ""
            pct = min(100, 100 * self.done // max(self.total, 1))
            count = f"{self.done}/{approx}{self.total} {self.unit} ({approx}{pct}%)"
        else:
            count = f"{self.done} {self.unit}"
        return f"mmbits: {self.verb} {count}, {now - self.start:.1f} s"

    def _write(self, text: str) -> None:
        self._shown = True
        self._width = max(self._width, len(text) - 1)
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def close(self, summary: str | None = None) -> None:
        """Clear the terminal line, or print the summary when stderr is not a terminal
        and the run took longer than the delay."""
        elapsed = time.monotonic() - self.start
        if self.tty:
            if self._shown:
                self._write("\r" + " " * self._width + "\r")
            return
        if elapsed >= self.delay:
            what = summary or f"{self.done} {self.unit if self.done != 1 else self.unit.removesuffix('s')}"
            self._write(f"mmbits: {self.verb}: {what} in {elapsed:.1f} s\n")

    def abandon(self) -> None:
        """The run failed: clear the terminal line and say nothing more (the error is the one line)."""
        if self.tty and self._shown:
            self._write("\r" + " " * self._width + "\r")
        self._shown = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abandon()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
