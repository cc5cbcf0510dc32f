"""Where the declarative data lives, installed or in a source checkout.

One data set, `layouts/kernel/`, covers every modelled release: the kernel
version is the config symbol VERSION, not a directory. `version` arguments
name a data set; the old per-release names ("v6.18") still find it.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

DATA_SET = "kernel"
# kept for callers that pass it through: the one data set
DEFAULT_KERNEL = DATA_SET


@cache
def layouts_root() -> Path:
    """The layouts/ tree: $MMBITS_LAYOUTS, the wheel's copy, or the checkout's."""
    env = os.environ.get("MMBITS_LAYOUTS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here / "layouts", here.parent / "layouts"):
        if (candidate / DATA_SET).is_dir():
            return candidate
    raise FileNotFoundError("mmbits: cannot find the layouts/ data directory")


def version_dir(version: str = DEFAULT_KERNEL) -> Path:
    """The data directory of a data set; a release name ("v6.18") maps to the one set."""
    root = layouts_root()
    direct = root / version
    if version != DATA_SET and not direct.is_dir() and version.startswith("v"):
        return root / DATA_SET
    return direct
