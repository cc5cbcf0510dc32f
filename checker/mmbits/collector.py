"""Python's cyclic garbage collector held off around work that makes many long-lived,
acyclic objects (a domain proof's tables, a log's decoded pages): its automatic passes over
them cost a sixth to a quarter of such runs, and reference counting frees everything that
work drops. One place for it, so every caller restores the collector the same way and a
nested pause (decode's command around its page loop) leaves it as the outer one found it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(freeze_after: bool = False) -> Iterator[None]:
    """The collector off inside, back on after if it was on; `freeze_after`: what survives
    is first moved out of the collector's reach (gc.freeze), so its next pass does not walk
    every object the paused work kept."""
    was = gc.isenabled()
    if was:
        gc.disable()
    try:
        yield
    finally:
        if was:
            if freeze_after:
                gc.freeze()
            gc.enable()
