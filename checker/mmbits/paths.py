"""Where the declarative data lives, installed or in a source checkout."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path


@cache
def layouts_root() -> Path:
    """The layouts/ tree: $MMBITS_LAYOUTS, the wheel's copy, or the checkout's."""
    env = os.environ.get("MMBITS_LAYOUTS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here / "layouts", here.parent / "layouts"):
        if (candidate / "v6.18").is_dir():
            return candidate
    raise FileNotFoundError("mmbits: cannot find the layouts/ data directory")


DEFAULT_KERNEL = "v6.18"


def version_dir(version: str = DEFAULT_KERNEL) -> Path:
    return layouts_root() / version
