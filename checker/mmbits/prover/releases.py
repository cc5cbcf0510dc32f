"""The answer per kernel release, for a domain that spans several (issue #12: "unsafe on
6.1-6.9, safe from 6.10").

Nothing here knows when anything changed: each group of the proof is one release (the
engine groups on VERSION), so the tallies are the proof's own findings counted by the
VERSION of the configs they stand for, and the ranges are read off those tallies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mmbits.kconfig.release import release_name


@dataclass
class ReleaseTally:
    """One release's share of a proof: configs checked, unsafe on, and not proved on."""

    version: int
    checked: int = 0
    unsafe: int = 0
    unknown: int = 0

    @property
    def verdict(self) -> str:
        # the overall rule per release: a counterexample is UNSAFE; anything short of a proof is UNKNOWN
        return "unsafe" if self.unsafe else ("unknown" if self.unknown else "safe")

    def to_json(self) -> dict[str, Any]:
        return {"release": release_name(self.version), "version": self.version, "verdict": self.verdict.upper(),
                "configs_checked": self.checked, "configs_unsafe": self.unsafe, "configs_unknown": self.unknown}


def tally(tallies: dict[int, ReleaseTally], version: Any, count: int, *, unsafe: bool = False,
          unknown: bool = False) -> None:
    """Count `count` configs of release `version` (a config without VERSION counts as 0)."""
    v = int(version or 0)
    t = tallies.get(v)
    if t is None:
        t = tallies[v] = ReleaseTally(v)
    t.checked += count
    t.unsafe += count if unsafe else 0
    t.unknown += count if unknown and not unsafe else 0


def ordered(tallies: dict[int, ReleaseTally]) -> list[ReleaseTally]:
    return [tallies[v] for v in sorted(tallies)]


def summary(rows: Iterable[ReleaseTally]) -> str:
    """`unsafe on 6.1-6.9, safe from 6.10`: runs of releases with one verdict, oldest first;
    the last run says `from` when it reaches the newest release checked. Empty for one release."""
    rows = [r for r in rows if r.version]
    if len(rows) < 2:
        return ""
    runs: list[list[ReleaseTally]] = []
    for r in rows:
        if runs and runs[-1][-1].verdict == r.verdict:
            runs[-1].append(r)
        else:
            runs.append([r])
    if len(runs) == 1:
        return f"{runs[0][0].verdict} on every release checked ({_span(runs[0])})"
    parts = []
    for i, run in enumerate(runs):
        if i == len(runs) - 1 and len(run) > 1:
            parts.append(f"{run[0].verdict} from {release_name(run[0].version)}")
        else:
            parts.append(f"{run[0].verdict} on {_span(run)}")
    return ", ".join(parts)


def _span(run: list[ReleaseTally]) -> str:
    first, last = release_name(run[0].version), release_name(run[-1].version)
    return first if first == last else f"{first}\u2013{last}"
