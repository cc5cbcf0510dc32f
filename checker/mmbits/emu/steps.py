"""One step of an emulated thread, and the registry that maps a step's name
to the design method that runs it.

A step is data (hashable: it is part of a world's fingerprint); its handler
is looked up in the design class's `step_handlers`, built once per class from
the methods decorated with `@step(NAME, *ARG_KINDS)` -- a subclass that
overrides such a method overrides the step. The argument kinds say how a
schedule prints the arguments: a loop index is not a pfn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

# how each argument of a step prints: "va", "pfn", "index", "level", "addr" (a symbol
# such as an on-stack list head), "text", "pages" (a tuple of (pfn, order))
ARG_KINDS: dict[str, tuple[str, ...]] = {}

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Step:
    name: str
    args: tuple[Any, ...] = ()

    def __hash__(self) -> int:
        """hash((name, args)), as the dataclass's own, computed once: a world's
        fingerprint hashes every pending step of every thread."""
        h: int | None = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.name, self.args))
            object.__setattr__(self, "_hash", h)
        return h

    def label(self, describe_addr: Callable[[int], str]) -> str:
        kinds = ARG_KINDS.get(self.name, ())
        out = []
        for i, arg in enumerate(self.args):
            kind = kinds[i] if i < len(kinds) else "text"
            if kind == "pfn":
                out.append(f"pfn {arg:#x}")
            elif kind == "index":
                out.append(f"[{arg}]")
            elif kind == "level":
                out.append(f"level {arg}")
            elif kind == "va":
                out.append(f"{arg:#x}")
            elif kind == "addr":
                out.append(describe_addr(arg))
            elif kind == "pages":
                out.append(", ".join(f"pfn {p:#x} order {o}" for p, o in arg) or "no pages")
            else:
                out.append(str(arg))
        return f"{self.name}({', '.join(out)})"


def step(name: str, *kinds: str) -> Callable[[F], F]:
    """Register a design method as the handler of step `name`."""

    def mark(fn: F) -> F:
        fn.__dict__["step_name"] = name
        ARG_KINDS[name] = kinds
        return fn

    return mark


def handlers_of(cls: type) -> dict[str, Callable[..., Any]]:
    """Step name -> the class's (possibly overriding) method."""
    attrs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            name = getattr(value, "step_name", None)
            if isinstance(name, str):
                attrs[name] = attr
    return {name: getattr(cls, attr) for name, attr in attrs.items()}
