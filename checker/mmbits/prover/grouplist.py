"""A domain's groups for a proof, with each group's config built when first asked for.

A new question over the default domain reads its 14,352 groups from the domain index,
but when the class partition is on disk (prover.classes) it analyses only a few classes'
first groups: building every group's Config was a sixth of the whole process, and a
Python call per group to list them (216k groups over every release and arch) a second
more. The list holds each part's table of rows (`DomainPart.table`) and builds group i
from its row on demand; it keeps each config it builds, so config ids stay theirs for the
group list's memo.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from typing import Any, overload

from mmbits.kconfig.config import Config
from mmbits.kconfig.domain import Group, GroupTable


class GroupList(Sequence[Group]):
    """`domain.groups(relevant)` as a sequence, in the same order, configs built lazily."""

    def __init__(self, domain: Any, relevant: set[str]):
        self.counts: list[int] = []
        self._starts: list[int] = []  # index of each part's first group
        self._tables: list[tuple[str, GroupTable]] = []
        self._built: dict[int, Group] = {}
        for part in domain.parts:
            table = part.table(relevant, ())
            if table.counts:
                self._starts.append(len(self.counts))
                self._tables.append((part.name, table))
                self.counts += table.counts
        self._fixed_start = len(self.counts)
        self._fixed: list[Config] = list(domain.fixed)
        self.counts += [1] * len(self._fixed)

    def __len__(self) -> int:
        return len(self.counts)

    @overload
    def __getitem__(self, i: int) -> Group: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Group]: ...

    def __getitem__(self, i: int | slice) -> Group | Sequence[Group]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        group = self._built.get(i)
        if group is None:
            if not 0 <= i < len(self.counts):
                raise IndexError(i)
            group = self._built[i] = self._make(i)
        return group

    def _make(self, i: int) -> Group:
        if i >= self._fixed_start:
            cfg = self._fixed[i - self._fixed_start]
            return Group(cfg, 1, cfg.name or "preset")
        t = bisect_right(self._starts, i) - 1
        name, table = self._tables[t]
        return Group(table.make(table.rows[i - self._starts[t]]), self.counts[i], name)

    def __iter__(self) -> Iterator[Group]:
        return (self[i] for i in range(len(self.counts)))

    def total(self) -> int:
        """How many configs the groups stand for (no config built)."""
        return sum(self.counts)
