"""The answer per kernel release, for a domain that spans several (issue #12: "unsafe on
6.1-6.9, safe from 6.10").

Nothing here knows when anything changed: each group of the proof is one release (the
engine groups on VERSION), so the tallies are the proof's own findings counted by the
VERSION of the configs they stand for, and the ranges are read off those tallies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mmbits.kconfig.release import release_name


class ReleaseTally:
    """One release's share of a proof: configs checked, unsafe on, and not proved on. (A
    plain class: every check imports it, and a dataclass compiles its methods at import.)"""

    __slots__ = ("version", "checked", "unsafe", "unknown")

    def __init__(self, version: int, checked: int = 0, unsafe: int = 0, unknown: int = 0):
        self.version = version
        self.checked = checked
        self.unsafe = unsafe
        self.unknown = unknown

    def _fields(self) -> tuple[int, int, int, int]:
        return (self.version, self.checked, self.unsafe, self.unknown)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReleaseTally) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # counted up in place

    def __repr__(self) -> str:
        return "ReleaseTally(version={}, checked={}, unsafe={}, unknown={})".format(*self._fields())

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
