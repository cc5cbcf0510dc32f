"""A domain's groups for a proof, with each group's config built when first asked for.

A new question over the default domain reads its 14,352 groups from the domain index,
but when the class partition is on disk (prover.classes) it analyses only the classes'
first groups: building every group's Config was a sixth of the whole process. The list
keeps each config it builds, so config ids stay theirs for the group list's memo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, overload

from mmbits.kconfig.config import Config
from mmbits.kconfig.domain import Group


class GroupList(Sequence[Group]):
    """`domain.groups(relevant)` as a sequence, in the same order, configs built lazily."""

    def __init__(self, domain: Any, relevant: set[str]):
        self.counts: list[int] = []
        self._parts: list[str] = []
        self._makers: list[Callable[[], Config]] = []
        self._built: dict[int, Group] = {}
        for part in domain.parts:
            for count, _values, make in part.grouped(relevant, ("VERSION",)):
                self.counts.append(count)
                self._parts.append(part.name)
                self._makers.append(make)
        for cfg in domain.fixed:
            self.counts.append(1)
            self._parts.append(cfg.name or "preset")
            self._makers.append(partial(_same, cfg))

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
            group = self._built[i] = Group(self._makers[i](), self.counts[i], self._parts[i])
        return group

    def __iter__(self) -> Iterator[Group]:
        return (self[i] for i in range(len(self.counts)))

    def total(self) -> int:
        """How many configs the groups stand for (no config built)."""
        return sum(self.counts)


def _same(config: Config) -> Config:
    return config
