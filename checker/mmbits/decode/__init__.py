"""Decode dump_page() output (syzbot, Bad page state, VM_BUG_ON_PAGE) against the layouts.

`decode_text(text, ...)` is the entry point: it finds every report in a log,
picks or infers the config, and returns one `Decoded` per struct page.
"""

from __future__ import annotations

from mmbits.decode.api import decode_text

__all__ = ["decode_text"]
