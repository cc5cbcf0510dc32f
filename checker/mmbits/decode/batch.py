"""`TextBatch`: decoded pages' text handed to the terminal or file in big pieces.

Why: on a log of thousands of reports a write per page cost more than rendering the
page, so `decode` (one process, cli/decode.py) and its two-process mode (decode/parallel.py)
both join pages and write a megabyte at a time; one class, so the two do it alike."""

from __future__ import annotations

from collections.abc import Callable

CHUNK = 1 << 20  # characters held before they are written


class TextBatch:
    """Pages' texts joined and passed to `write` once `limit` characters are held (0: each
    at once), and whatever is held on `flush()`."""

    __slots__ = ("_write", "_limit", "_parts", "_held")

    def __init__(self, write: Callable[[str], object], limit: int = CHUNK):
        self._write, self._limit = write, limit
        self._parts: list[str] = []
        self._held = 0

    def add_page(self, text: str, first: bool) -> None:
        """A page's text as decode prints it: a blank line before it unless it is the first,
        a line end after it (added beside the text, not joined to it: a page's text is copied
        once, when the batch is written)."""
        parts = self._parts
        if not first:
            parts.append("\n")
        parts.append(text)
        parts.append("\n")
        self._held += len(text) + 2 - first
        if self._held >= self._limit:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            parts, self._parts, self._held = self._parts, [], 0
            self._write("".join(parts))
