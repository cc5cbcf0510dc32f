"""`ByValue`: equality and hash by value for the plain classes that replaced frozen
dataclasses on `check`'s start-up path (a dataclass compiles its methods when its module is
imported, ~5 M instructions each). One base, so each such class says only which fields
make its value."""

from __future__ import annotations

from typing import Any


class ByValue:
    """Equal and hashed by `_fields()`, among objects of one class (as a frozen dataclass)."""

    __slots__ = ()

    def _fields(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())
