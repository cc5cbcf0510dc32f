"""Where mmbits keeps its caches: $MMBITS_CACHE_DIR, else $XDG_CACHE_HOME/mmbits, else
~/.cache/mmbits; MMBITS_CACHE=off turns every cache off. Import-light on purpose:
a cache hit must not pay for the modules it saves running."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path | None:
    if os.environ.get("MMBITS_CACHE", "").lower() in ("0", "off", "no", "false"):
        return None
    root = os.environ.get("MMBITS_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "mmbits" if xdg else Path.home() / ".cache" / "mmbits"
