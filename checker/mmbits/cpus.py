"""How many CPUs this process may run on: decode's two-process log split
(decode/parallel.py) and the two-process exploration (emu/parallel.py, through
simulate's --jobs 0) ask before forking, since a second process on one core
only adds its costs. Affinity, not the machine's count: a container or
`taskset` may allow fewer."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The CPUs this process may run on (at least 1)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
