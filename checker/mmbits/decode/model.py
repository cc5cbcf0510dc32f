"""The decode's typed results: a struct page's words (Slot), a view of a struct through
one layout (PageView), one line of agreement with the kernel (Check), and the whole
decode of one page (Decoded). Everything else in decode/ fills or reads these; JSON
is made only at the edge (decode/output.py).
"""

from __future__ import annotations

from typing import Any

from mmbits.byvalue import ByValue, EqualByValue
from mmbits.decode.context import KernelContext
from mmbits.decode.infer import ConfigChoice
from mmbits.decode.parse import DumpRecord
from mmbits.errors import InputError
from mmbits.findings import Finding
from mmbits.flags.packing import FlagsWord
from mmbits.kconfig.config import Config
from mmbits.layout.model import Layout


class Slot(EqualByValue):
    """One word of a struct page and every name the union arms give it."""

    offset: int
    size: int
    names: list[str]
    value: int
    meaning: str = ""
    bit_offset: int | None = None
    bit_size: int | None = None

    _SHOWN = ("offset", "size", "names", "value", "meaning", "bit_offset", "bit_size")

    def __init__(self, offset: int, size: int, names: list[str], value: int, meaning: str = "",
                 bit_offset: int | None = None, bit_size: int | None = None) -> None:
        self.offset = offset
        self.size = size
        self.names = names
        self.value = value
        self.meaning = meaning
        self.bit_offset = bit_offset
        self.bit_size = bit_size

    def _fields(self) -> tuple[object, ...]:
        return (self.offset, self.size, self.names, self.value, self.meaning, self.bit_offset, self.bit_size)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"offset": self.offset, "size": self.size, "names": self.names,
                               "value": f"{self.value:0{self.size * 2}x}" if self.bit_size is None else self.value}
        if self.bit_size is not None:
            out["bit_offset"] = self.bit_offset
            out["bit_size"] = self.bit_size
        if self.meaning:
            out["meaning"] = self.meaning
        return out


class PageView(EqualByValue):
    """A struct page (or a descriptor over it) read from bytes."""

    layout: Layout
    values: dict[str, int]
    slots: list[Slot]

    _SHOWN = ("layout", "values", "slots")

    def __init__(self, layout: Layout, values: dict[str, int], slots: list[Slot]) -> None:
        self.layout = layout
        self.values = values
        self.slots = slots

    def _fields(self) -> tuple[object, ...]:
        return (self.layout, self.values, self.slots)

    def get(self, name: str, default: int | None = None) -> int | None:
        return self.values.get(name, default)


class Check(EqualByValue):
    item: str
    ours: str | None
    printed: str | None
    status: str  # agrees | disagrees | unchecked
    why: str = ""

    _SHOWN = ("item", "ours", "printed", "status", "why")

    def __init__(self, item: str, ours: str | None, printed: str | None, status: str, why: str = "") -> None:
        self.item = item
        self.ours = ours
        self.printed = printed
        self.status = status
        self.why = why

    def _fields(self) -> tuple[object, ...]:
        return (self.item, self.ours, self.printed, self.status, self.why)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"item": self.item, "decoded": self.ours, "kernel": self.printed, "status": self.status}
        if self.why:
            out["why"] = self.why
        return out


class FieldReading(ByValue):
    """One field several releases read differently: each reading with the releases giving it."""

    field: str  # "kind" or "offset 32, 8 bytes"
    readings: tuple[tuple[str, tuple[int, ...]], ...]  # (reading, VERSION codes)

    _SHOWN = ("field", "readings")

    def __init__(self, field: str, readings: tuple[tuple[str, tuple[int, ...]], ...]) -> None:
        self.field = field
        self.readings = readings

    def _fields(self) -> tuple[object, ...]:
        return (self.field, self.readings)


class ReleaseAlternatives(ByValue):
    """The model's releases that fit a report that names none (decode/releases.py)."""

    fitting: tuple[int, ...]  # VERSION codes, oldest first
    chosen: int  # the release the page is decoded with
    differing: tuple[FieldReading, ...]
    disagreements: int  # how many of the kernel's lines each fitting release disagrees with

    _SHOWN = ("fitting", "chosen", "differing", "disagreements")

    def __init__(self, fitting: tuple[int, ...], chosen: int, differing: tuple[FieldReading, ...],
                 disagreements: int) -> None:
        self.fitting = fitting
        self.chosen = chosen
        self.differing = differing
        self.disagreements = disagreements

    def _fields(self) -> tuple[object, ...]:
        return (self.fitting, self.chosen, self.differing, self.disagreements)

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


class Decoded(EqualByValue):
    number: int
    record: DumpRecord
    bits: int
    little: bool
    choice: ConfigChoice
    words: list[int]
    word: FlagsWord
    page: PageView | None
    head: PageView | None = None  # the folio head page (head: lines)
    folio: dict[str, int]  # folio fields from the head: lines
    kind: str = "page"
    kind_why: str = ""
    descriptor: str = "page"
    overlay: PageView | None = None
    head_kind: str | None = None
    is_tail: bool = False
    expected: dict[str, Any]  # what dump_page should print
    checks: list[Check]
    findings: list[Finding]
    depends: list[str]
    struct: str = "page"
    context: KernelContext
    endian_why: str = ""
    releases: ReleaseAlternatives | None = None  # no line names the release and several fit
    shape: object = None  # what the decode read, line numbers aside (decoder._decode_shared): shared by its copies
    # a copy of a shared decode with its own index word: (the shared decode, the word's place in
    # its views: decoder._Patch); the text is the shared decode's with the index lines put in
    index_base: tuple[Decoded, Any] | None = None

    _SHOWN = ("number", "record", "bits", "little", "choice", "words", "word", "page", "head", "folio",
              "kind", "kind_why", "descriptor", "overlay", "head_kind", "is_tail", "expected", "checks",
              "findings", "depends", "struct", "context", "endian_why", "releases", "shape", "index_base")

    def __init__(self, number: int, record: DumpRecord, bits: int, little: bool, choice: ConfigChoice,
                 words: list[int], word: FlagsWord, page: PageView | None, head: PageView | None = None,
                 folio: dict[str, int] | None = None, kind: str = "page", kind_why: str = "",
                 descriptor: str = "page", overlay: PageView | None = None, head_kind: str | None = None,
                 is_tail: bool = False, expected: dict[str, Any] | None = None,
                 checks: list[Check] | None = None, findings: list[Finding] | None = None,
                 depends: list[str] | None = None, struct: str = "page", context: KernelContext | None = None,
                 endian_why: str = "", releases: ReleaseAlternatives | None = None, shape: object = None,
                 index_base: tuple[Decoded, Any] | None = None) -> None:
        self.number = number
        self.record = record
        self.bits = bits
        self.little = little
        self.choice = choice
        self.words = words
        self.word = word
        self.page = page
        self.head = head
        self.folio = {} if folio is None else folio
        self.kind = kind
        self.kind_why = kind_why
        self.descriptor = descriptor
        self.overlay = overlay
        self.head_kind = head_kind
        self.is_tail = is_tail
        self.expected = {} if expected is None else expected
        self.checks = [] if checks is None else checks
        self.findings = [] if findings is None else findings
        self.depends = [] if depends is None else depends
        self.struct = struct
        self.context = KernelContext() if context is None else context
        self.endian_why = endian_why
        self.releases = releases
        self.shape = shape
        self.index_base = index_base

    def _fields(self) -> tuple[object, ...]:
        return (self.number, self.record, self.bits, self.little, self.choice, self.words, self.word,
                self.page, self.head, self.folio, self.kind, self.kind_why, self.descriptor, self.overlay,
                self.head_kind, self.is_tail, self.expected, self.checks, self.findings, self.depends,
                self.struct, self.context, self.endian_why, self.releases, self.shape, self.index_base)

    @property
    def config(self) -> Config:
        return self.choice.config


class Unreadable(EqualByValue):
    """A report of a streamed log that could not be decoded (a line that is not what
    dump_page prints, words that fit no struct page): said where it is, with the error,
    while the reports around it are decoded."""

    number: int
    record: DumpRecord
    error: InputError

    _SHOWN = ("number", "record", "error")

    def __init__(self, number: int, record: DumpRecord, error: InputError) -> None:
        self.number = number
        self.record = record
        self.error = error

    def _fields(self) -> tuple[object, ...]:
        return (self.number, self.record, self.error)

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
