"""A marking scheme: "this bit, in this word, says 'kernel page table'".

The merged design marks with PT_kernel (= PG_referenced) in ptdesc->pt_flags,
set at allocation and cleared in pagetable_free(); the designs argued in the
seeds used BIT(NR_PAGEFLAGS) or BIT(0) of __page_type; a user's proposal is
one more. A Marking evaluates its C expression for the config
(mmbits.bitexpr with the per-config name table), writes the bits into the
page's bytes at its `set_at` lifecycle step, clears them at `clear_at`, and
at `test_at` reads them back from the bytes.

It also keeps the provenance of the bits it set: a later plain store over
those bytes (__ClearPageTable() writing UINT_MAX, a list_add() on pt_list) or
a read-modify-write that clears them means the information is gone, even
when the bit happens to read 1 again. That is what turns bytes into the
lifecycle findings: `wiped-before-test`, `stale-after-free` (the bits survive
free_pages_prepare() into the next owner) and `always-true` (the test reads
the bit on a page that never set it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING

from mmbits.bitexpr import evaluate
from mmbits.errors import InputError
from mmbits.flags.data import load_flag_data
from mmbits.layout.model import Field
from mmbits.layout.registry import layouts
from mmbits.names import c_names
from mmbits.proposal import STEPS, Proposal

if TYPE_CHECKING:
    from mmbits.emu.facts import Facts
    from mmbits.emu.machine import Machine

_BARE_NAME = re.compile(r"^[A-Za-z_]\w*$")

# structs that overlay struct page (their words are page bytes)
PAGE_OVERLAYS = {"page", "folio", "ptdesc", "slab", "zpdesc", "ioptdesc", "page_sep"}


@dataclass
class Marking:
    name: str
    expr: str
    word: str
    kind: str | None = "kernel-pgtable"
    set_at: str | None = None
    test_at: str | None = None
    clear_at: str | None = None
    decides: str = ""  # "defer": pagetable_free() decision; "dtor": the worker's dtor choice
    from_proposal_file: bool = False
    source: str | None = None  # the proposal file, named in errors
    # resolved for a config
    field: Field | None = None
    bits: int = 0
    on_object: bool = False  # the word lives in a separately allocated ptdesc
    problems: list[tuple[str, str]] = dc_field(default_factory=list)
    span: tuple[int, int] = (0, 0)

    @classmethod
    def from_proposal(cls, p: Proposal) -> Marking:
        """A proposal tested in pagetable_free() on kernel tables is the
        design's "kernel table" test (it replaces PT_kernel); any other one is
        carried along the lifecycle and watched."""
        kind = p.kind or "kernel-pgtable"
        decides = "defer" if kind == "kernel-pgtable" and p.test_at == "pagetable_free" else ""
        return cls(name=p.name or p.expr, expr=p.expr, word=p.word, kind=kind, set_at=p.set_at,
                   test_at=p.test_at, clear_at=p.clear_at, decides=decides, from_proposal_file=True,
                   source=p.source)

    def resolve(self, facts: Facts) -> Marking:
        """Bind to a config: the word's accessor and the bits (C semantics)."""
        try:
            return self._resolve(facts)
        except InputError as exc:
            if exc.file is None and self.source:
                exc.file = self.source
            raise

    def _resolve(self, facts: Facts) -> Marking:
        for key in ("set_at", "test_at", "clear_at"):
            step = getattr(self, key)
            if step is not None and step not in STEPS:
                raise InputError(f"{self.name}: {key}: unknown step {step!r}")
        struct, _, word = self.word.partition(".")
        if not word:
            raise InputError(f"{self.name}: word must be STRUCT.FIELD, got {self.word!r}")
        if facts.separate_ptdesc and struct == "ptdesc":
            layout = facts.ptdesc
            self.on_object = True
        elif facts.separate_ptdesc and struct == "page":
            layout = facts.page
        elif struct in PAGE_OVERLAYS:
            layout = layouts(facts.version).resolve(struct, facts.config)
        else:
            raise InputError(f"{self.name}: the emulator runs page tables; {struct!r} does not overlay struct page "
                             f"(use one of {', '.join(sorted(PAGE_OVERLAYS))})")
        self.field = layout.field(word)
        names, types = c_names(facts.config)
        ev = evaluate(self.c_expr(), names, facts.bits, types)
        width = self.field.bit_size if self.field.bit_size is not None else self.field.size * 8
        value, extra = ev.store(width)
        self.problems = list(ev.problems) + extra
        self.bits = value or 0
        self.bits &= (1 << width) - 1
        self.span = self._span()
        return self

    def c_expr(self) -> str:
        """The mask the expression means. A bare enum pageflags / pt_flags
        constant (PG_referenced, PT_kernel) is a bit number -- what
        set_bit() takes -- so it names BIT(it), as the prover reads it."""
        text = self.expr.strip()
        if _BARE_NAME.match(text) and text in load_flag_data().all_names():
            return f"BIT({text})"
        return text

    def _span(self) -> tuple[int, int]:
        """Struct bytes that hold the bits (for watching writes)."""
        assert self.field is not None
        if not self.bits:
            return (self.field.offset, self.field.offset)
        lo_bit = (self.bits & -self.bits).bit_length() - 1
        hi_bit = self.bits.bit_length() - 1
        base = self.field.offset
        if self.field.bit_offset is not None:
            lo_bit += self.field.bit_offset
            hi_bit += self.field.bit_offset
        if self.field.little:
            return (base + lo_bit // 8, base + hi_bit // 8 + 1)
        return (base + self.field.size - 1 - hi_bit // 8, base + self.field.size - lo_bit // 8)

    def label(self) -> str:
        return f"{self.name} ({self.expr} in {self.word})"

    def bits_label(self) -> str:
        """"bit 24 (0x1000000)" for one bit, "mask 0x..." for several: a mask is not a bit number."""
        if self.bits and self.bits & (self.bits - 1) == 0:
            return f"bit {self.bits.bit_length() - 1} ({self.bits:#x})"
        return f"mask {self.bits:#x}"

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "expr": self.expr, "word": self.word, "kind": self.kind,
                "set_at": self.set_at, "test_at": self.test_at, "clear_at": self.clear_at,
                "bits": hex(self.bits)}


def _ptdesc_ref(m: Machine, pfn: int) -> int:
    return m.ptdesc_of(pfn)


def _touch(m: Machine, pfn: int) -> None:
    """Record the marking state of page pfn as read and written (partial-order reduction)."""
    fp = m.mem.fp
    if fp is not None:
        fp.reads.add(("mk", pfn))
        fp.writes.add(("mk", pfn))


class Marker:
    """A Marking applied to a running machine (its state lives in m.st.marks
    under (index, pfn))."""

    def __init__(self, marking: Marking, index: int = 0):
        self.mk = marking
        self.i = index

    # -- bytes ----------------------------------------------------------------
    def read(self, m: Machine, pfn: int) -> int:
        mk = self.mk
        assert mk.field is not None
        if mk.on_object:
            return m.mem.read_at(_ptdesc_ref(m, pfn), mk.field)
        return m.mem.get(pfn, mk.field)

    def _write(self, m: Machine, pfn: int, value: int) -> None:
        mk = self.mk
        assert mk.field is not None
        if mk.on_object:
            m.mem.write_at(_ptdesc_ref(m, pfn), mk.field, value)
        else:
            m.mem.set(pfn, mk.field, value, rmw=True)

    # -- lifecycle --------------------------------------------------------------
    def at(self, m: Machine, step: str, pfn: int, kind: str) -> bool | None:
        """Apply the marking's actions for lifecycle `step` on page `pfn`;
        returns the test result when this is the test step."""
        _touch(m, pfn)
        mk = self.mk
        result = None
        if step == mk.set_at and mk.kind in (None, kind) and mk.bits:
            self._write(m, pfn, self.read(m, pfn) | mk.bits)
            if m.trace:
                m.note(f"{mk.name}: {mk.word} |= {mk.bits:#x} on pfn {pfn:#x}")
            self._watch(m, pfn)
            m.st.marks = {**m.st.marks, (self.i, pfn): ("set", step)}
        if step == mk.test_at:
            result = self.test(m, pfn, kind)
        if step == mk.clear_at and mk.bits:
            self._unwatch(m, pfn)
            value = self.read(m, pfn)
            if value & mk.bits:
                self._write(m, pfn, value & ~mk.bits)
                if m.trace:
                    m.note(f"{mk.name}: {mk.word} &= ~{mk.bits:#x} on pfn {pfn:#x}")
            self._forget(m, pfn)
        return result

    def test(self, m: Machine, pfn: int, kind: str) -> bool:
        _touch(m, pfn)
        mk = self.mk
        value = self.read(m, pfn)
        hit = bool(mk.bits) and (value & mk.bits) == mk.bits
        state = m.st.marks.get((self.i, pfn))
        if state is not None and state[0] == "lost":
            _, writer, old, new = state
            how = ("the bit still reads set, but only because the value written has it too"
                   if hit else "the test reads it clear")
            m.report("wiped-before-test",
                     f"{mk.label()} was set at {mk.set_at} on pfn {pfn:#x} ({m.role(pfn)}), then {writer} overwrote "
                     f"{mk.word} ({old:#x} -> {new:#x}) before the test at {mk.test_at}: {how}",
                     pfn=pfn, where=f"{mk.word} {mk.bits_label()}: {mk.test_at}")
        elif state is None and hit:
            m.report("always-true",
                     f"the test at {mk.test_at} reads {mk.label()} set on pfn {pfn:#x} ({m.role(pfn)}, a {kind} page) "
                     f"that never set it: {mk.word} = {value:#x}; the test cannot tell the pages apart",
                     pfn=pfn, where=f"{mk.word} {mk.bits_label()}: {mk.test_at}: {kind}")
        if m.trace:
            m.note(f"{mk.name}: test {mk.word} & {mk.bits:#x} on pfn {pfn:#x} -> {int(hit)}")
        return hit

    def _watch(self, m: Machine, pfn: int) -> None:
        if not self.mk.on_object:
            lo, hi = self.mk.span
            span = m.mem.watched.get(pfn)
            if span is not None:
                lo, hi = min(lo, span[0]), max(hi, span[1])
            m.mem.watched[pfn] = (lo, hi)

    def _unwatch(self, m: Machine, pfn: int) -> None:
        # the union of spans stays while another marking still watches the page
        if not any(k[1] == pfn and k[0] != self.i and v[0] == "set" for k, v in m.st.marks.items()):
            m.mem.watched.pop(pfn, None)

    def _forget(self, m: Machine, pfn: int) -> None:
        if (self.i, pfn) in m.st.marks:
            marks = dict(m.st.marks)
            del marks[(self.i, pfn)]
            m.st.marks = marks

    def on_write(self, m: Machine, pfn: int, f: Field, old: int, new: int, rmw: bool) -> None:
        """Called after a store over the watched bytes of a marked page."""
        _touch(m, pfn)
        state = m.st.marks.get((self.i, pfn))
        if state is None or state[0] != "set":
            return
        lo, hi = self.mk.span
        rel = f.offset % m.mem.size
        if not (rel < hi and lo < rel + f.size):
            return
        still = self.read(m, pfn) & self.mk.bits == self.mk.bits
        if rmw and still:
            return
        m.st.marks = {**m.st.marks, (self.i, pfn): ("lost", m.mem.writer or "a store", old, new)}
        self._unwatch(m, pfn)

    def on_free(self, m: Machine, pfn: int) -> None:
        """After free_pages_prepare(): bits the proposal set that survive go to the next owner."""
        _touch(m, pfn)
        state = m.st.marks.get((self.i, pfn))
        if state is None:
            return
        mk = self.mk
        if state[0] == "set" and not mk.on_object and self.read(m, pfn) & mk.bits:
            m.report("stale-after-free",
                     f"{mk.label()} set at {mk.set_at} is still set when pfn {pfn:#x} ({m.role(pfn)}) returns to the "
                     f"allocator: free_pages_prepare() clears only PAGE_FLAGS_CHECK_AT_PREP "
                     f"({m.facts.masks['PAGE_FLAGS_CHECK_AT_PREP']:#x}), so the next owner gets {mk.word} = "
                     f"{self.read(m, pfn):#x}",
                     pfn=pfn, where=f"{mk.word} {mk.bits_label()}: free_pages")
        self._unwatch(m, pfn)
        self._forget(m, pfn)

