"""The decode's typed results: a struct page's words (Slot), a view of a struct through
one layout (PageView), one line of agreement with the kernel (Check), and the whole
decode of one page (Decoded). Everything else in decode/ fills or reads these; JSON
is made only at the edge (decode/output.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mmbits.decode.context import KernelContext
from mmbits.decode.infer import ConfigChoice
from mmbits.decode.parse import DumpRecord
from mmbits.errors import InputError
from mmbits.findings import Finding
from mmbits.flags.packing import FlagsWord
from mmbits.kconfig.config import Config
from mmbits.layout.model import Layout


@dataclass
class Slot:
    """One word of a struct page and every name the union arms give it."""

    offset: int
    size: int
    names: list[str]
    value: int
    meaning: str = ""
    bit_offset: int | None = None
    bit_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"offset": self.offset, "size": self.size, "names": self.names,
                               "value": f"{self.value:0{self.size * 2}x}" if self.bit_size is None else self.value}
        if self.bit_size is not None:
            out["bit_offset"] = self.bit_offset
            out["bit_size"] = self.bit_size
        if self.meaning:
            out["meaning"] = self.meaning
        return out


@dataclass
class PageView:
    """A struct page (or a descriptor over it) read from bytes."""

    layout: Layout
    values: dict[str, int]
    slots: list[Slot]

    def get(self, name: str, default: int | None = None) -> int | None:
        return self.values.get(name, default)


@dataclass
class Check:
    item: str
    ours: str | None
    printed: str | None
    status: str  # agrees | disagrees | unchecked
    why: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"item": self.item, "decoded": self.ours, "kernel": self.printed, "status": self.status}
        if self.why:
            out["why"] = self.why
        return out


@dataclass
class Decoded:
    number: int
    record: DumpRecord
    bits: int
    little: bool
    choice: ConfigChoice
    words: list[int]
    word: FlagsWord
    page: PageView | None
    head: PageView | None = None  # the folio head page (head: lines)
    folio: dict[str, int] = field(default_factory=dict)  # folio fields from the head: lines
    kind: str = "page"
    kind_why: str = ""
    descriptor: str = "page"
    overlay: PageView | None = None
    head_kind: str | None = None
    is_tail: bool = False
    expected: dict[str, Any] = field(default_factory=dict)  # what dump_page should print
    checks: list[Check] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    depends: list[str] = field(default_factory=list)
    struct: str = "page"
    context: KernelContext = field(default_factory=KernelContext)
    endian_why: str = ""

    @property
    def config(self) -> Config:
        return self.choice.config


@dataclass
class Unreadable:
    """A report of a streamed log that could not be decoded (a line that is not what
    dump_page prints, words that fit no struct page): said where it is, with the error,
    while the reports around it are decoded."""

    number: int
    record: DumpRecord
    error: InputError

    @property
    def findings(self) -> list[Finding]:
        return [Finding("unknown", f"input lines {self.record.start}-{self.record.end} not decoded: {self.error}",
                        None, "page", "warning", {"start": self.record.start, "end": self.record.end})]

    def to_json(self) -> dict[str, Any]:
        return {"page": self.number, "lines": [self.record.start, self.record.end], "error": str(self.error),
                "findings": [f.to_json() for f in self.findings]}

    def render(self) -> str:
        return "\n".join([f"=== page {self.number} (input lines {self.record.start}-{self.record.end}) ===",
                          f"not decoded: {self.error}"])
