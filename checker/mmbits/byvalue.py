"""Plain classes that stand in for dataclasses on the start-up paths (`check`'s, and a
decode's): a dataclass compiles its methods when its module is imported (~3-5 M
instructions each, and importing `dataclasses` pulls in `inspect`, `ast` and `dis`: ~70 M
more), which was over a third of a one-report `mmbits decode`. Each class writes its own
`__init__` and says which fields make its value (`_fields`) and which its repr shows
(`_SHOWN`); these bases give what the dataclass decorator gave: repr (`Shown`), equality
(`EqualByValue`, unhashable as a dataclass with eq and not frozen) and hash (`ByValue`, as
a frozen dataclass; kept immutable by convention)."""

from __future__ import annotations

from typing import Any, ClassVar


class Shown:
    """repr as a dataclass's: the class name and each of `_SHOWN` by name."""

    __slots__ = ()
    _SHOWN: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._SHOWN)})"


class EqualByValue(Shown):
    """Equal by `_fields()`, among objects of one class; unhashable (it defines __eq__ only)."""

    __slots__ = ()

    def _fields(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._fields() == other._fields()


class ByValue(EqualByValue):
    """Equal and hashed by `_fields()`, among objects of one class (as a frozen dataclass)."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._fields())
