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


@dataclass(frozen=True)
class FieldReading:
    """One field several releases read differently: each reading with the releases giving it."""

    field: str  # "kind" or "offset 32, 8 bytes"
    readings: tuple[tuple[str, tuple[int, ...]], ...]  # (reading, VERSION codes)


@dataclass(frozen=True)
class ReleaseAlternatives:
    """The model's releases that fit a report that names none (decode/releases.py)."""

    fitting: tuple[int, ...]  # VERSION codes, oldest first
    chosen: int  # the release the page is decoded with
    differing: tuple[FieldReading, ...]
    disagreements: int  # how many of the kernel's lines each fitting release disagrees with

    def lines(self) -> list[str]:
        """The note's text."""
        fits = "" if self.chosen in self.fitting else f" ({release_text(self.chosen)} fits less well)"
        out = [f"releases: no line names the kernel release; {len(self.fitting)} of the model's releases fit the "
               f"kernel's lines ({ranges_text(self.fitting)}), decoded above with {release_text(self.chosen)}{fits}"]
        if not self.differing:
            out.append("  they read every field alike")
            return out
        out.append("  they read every field above alike but these (each reading, with the releases that give it):")
        for f in self.differing:
            out.append(f"    {f.field}: " + "  |  ".join(f"{text} [{ranges_text(codes)}]" for text, codes in f.readings))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"fitting": [release_text(c) for c in self.fitting], "decoded_with": release_text(self.chosen),
                "disagreements": self.disagreements,
                "differing": [{"field": f.field, "readings": [{"reading": text, "releases": [release_text(c) for c in codes]}
                                                             for text, codes in f.readings]}
                              for f in self.differing]}


def release_text(code: int) -> str:
    return f"{code // 1000}.{code % 1000}"


def ranges_text(codes: tuple[int, ...]) -> str:
    """6012, 6013, 6014, 6016 -> "6.12-6.14, 6.16" (runs of the model's consecutive releases)."""
    from mmbits.kconfig.model import load_model

    order = {c: i for i, c in enumerate(load_model().releases)}
    runs: list[list[int]] = []
    for c in codes:
        if runs and c in order and runs[-1][-1] in order and order[c] == order[runs[-1][-1]] + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    return ", ".join(release_text(r[0]) if len(r) == 1 else f"{release_text(r[0])}-{release_text(r[-1])}"
                     for r in runs)


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
    releases: ReleaseAlternatives | None = None  # no line names the release and several fit
    shape: object = None  # what the decode read, line numbers aside (decoder._decode_shared): shared by its copies
    # a copy of a shared decode with its own index word: (the shared decode, the word's place in
    # its views: decoder._Patch); the text is the shared decode's with the index lines put in
    index_base: tuple[Decoded, Any] | None = None

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
