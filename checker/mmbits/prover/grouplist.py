"""A domain's groups for a proof, with each group built when first asked for.

A new question over the default domain reads its 14,352 groups from the domain index,
but when the class partition is on disk (prover.classes) it analyses only a few classes'
first groups: building every group's Config was a sixth of the whole process, and
expanding the product of the parts' factors into 216k rows (every release and arch) a
third of a second more. The list holds each part's groups in product form
(`DomainPart.product`) and builds group i from its factors on demand; it keeps each
group it builds, so config ids stay theirs for the group list's memo.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from typing import Any, overload

from mmbits.kconfig.config import Config
from mmbits.kconfig.domain import Group, ProductTable


class GroupList(Sequence[Group]):
    """`domain.groups(relevant)` as a sequence, in the same order, groups built lazily."""

    def __init__(self, domain: Any, relevant: set[str]):
        self._starts: list[int] = []  # index of each part's first group
        self._tables: list[tuple[str, ProductTable]] = []
        self._built: dict[int, Group] = {}
        n = 0
        for part in domain.parts:
            table = part.product(relevant)
            if len(table):
                self._starts.append(n)
                self._tables.append((part.name, table))
                n += len(table)
        self._fixed_start = n
        self._asked = [0] * len(self._tables)
        self._fixed: list[Config] = list(domain.fixed)
        self._len = n + len(self._fixed)

    def __len__(self) -> int:
        return self._len

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
            if not 0 <= i < self._len:
                raise IndexError(i)
            group = self._built[i] = self._make(i)
        return group

    def _make(self, i: int) -> Group:
        if i >= self._fixed_start:
            cfg = self._fixed[i - self._fixed_start]
            return Group(cfg, 1, cfg.name or "preset")
        t = bisect_right(self._starts, i) - 1
        name, table = self._tables[t]
        j = i - self._starts[t]
        self._asked[t] += 1
        if self._asked[t] == max(64, len(table) // 8):  # a pass over the groups, not a few representatives
            table.expand()
        count, row = table.group(j)
        return Group(table.make(row), count, name)

    def __iter__(self) -> Iterator[Group]:
        for _, table in self._tables:
            table.expand()
        return (self[i] for i in range(self._len))

    def values(self, names: Sequence[str], default: Any = None) -> Iterator[tuple[int, tuple[Any, ...]]] | None:
        """Each group's count and its config's values of `names` (`get(name, default)`),
        in order, no config built (`ProductTable.values`); None when the list holds fixed
        configs (a preset), which are not rows."""
        if self._fixed:
            return None
        return itertools.chain.from_iterable(table.values(names, default) for _, table in self._tables)

    def total(self) -> int:
        """How many configs the groups stand for (no group built)."""
        return sum(t.total() for _, t in self._tables) + len(self._fixed)
