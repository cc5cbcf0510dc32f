"""A proposal: "I want this bit, in this word, on this kind of page, set here,
tested there, cleared there". `mmbits check` proves it statically over a
config domain; the emulator runs it through the page lifecycle. Both read the
same object, so a proposal file is one YAML document:

    proposal: PTDESC_TYPE_KERNEL      # the name the patch gives the bit
    expr: BIT(0)                      # C, evaluated per config
    word: ptdesc.__page_type          # STRUCT.FIELD (a word of a descriptor)
    kind: kernel-pgtable              # page kind it is used on (kinds.yaml)
    set_at: pte_free_kernel           # lifecycle steps (STEPS below)
    test_at: pagetable_free
    clear_at: never

Loaded with the safe YAML loader: a proposal pasted from a mailing list can
never execute anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmbits.errors import InputError

# Where in a kernel page table's life a bit can be set, tested or cleared
# (shared/reference/deferred-free-and-memdesc.md section 4.1). The emulator
# implements each step; `never` means the proposal does not do that action.
STEPS: dict[str, str] = {
    "alloc": "pagetable_alloc(): page leaves the buddy allocator",
    "ctor": "pagetable_*_ctor(): __SetPageTable, page_type = PGTY_table << 24",
    "mark": "the allocation function marks a kernel table (ptdesc_set_kernel)",
    "pte_free_kernel": "pte_free_kernel() / pmd_free(&init_mm) entry, before the destructor",
    "dtor": "pagetable_dtor(): __ClearPageTable, page_type = UINT_MAX",
    "pagetable_free": "pagetable_free(): chooses the deferred or the immediate path",
    "enqueue": "pagetable_free_kernel(): linked on kernel_pgtable_work.list",
    "worker": "kernel_pgtable_work_func(): after the splice and the IOMMU invalidation",
    "free_pages": "__free_pages() / free_pages_prepare(): the allocator's checks",
    "realloc": "the page is allocated again by its next owner",
    "never": "the proposal never does this",
}

KEYS = {"proposal", "expr", "word", "kind", "set_at", "test_at", "clear_at", "doc", "source"}


@dataclass(frozen=True)
class Proposal:
    expr: str
    word: str
    kind: str | None = None
    name: str | None = None
    set_at: str | None = None
    test_at: str | None = None
    clear_at: str | None = None
    doc: str = ""
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def struct(self) -> str:
        return self.word.split(".", 1)[0]

    @property
    def field(self) -> str:
        return self.word.split(".", 1)[1] if "." in self.word else ""

    @property
    def lifecycle(self) -> bool:
        """True when the proposal says where the bit is set/tested/cleared."""
        return any(s not in (None, "never") for s in (self.set_at, self.test_at, self.clear_at))

    def label(self) -> str:
        name = f"{self.name} = " if self.name else ""
        return f"{name}{self.expr} in {self.word}" + (f" ({self.kind})" if self.kind else "")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"expr": self.expr, "word": self.word}
        for key in ("kind", "name", "set_at", "test_at", "clear_at"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def validate(p: Proposal, where: str = "", line_of: Any = None) -> Proposal:
    """Check names against the data (kinds, steps, STRUCT.FIELD syntax)."""
    from mmbits.cexpr import suggest
    from mmbits.flags.data import load_flag_data

    def fail(msg: str, key: str | None = None) -> InputError:
        line = line_of(key) if (line_of is not None and key) else None
        return InputError(msg, file=where or None, line=line)

    if "." not in p.word or not all(part.replace("_", "a").isalnum() for part in p.word.split(".")):
        raise fail(f"word must be STRUCT.FIELD (e.g. ptdesc.pt_flags), got {p.word!r}", "word")
    kinds = load_flag_data().kinds
    if p.kind is not None and p.kind not in kinds:
        raise fail(f"unknown page kind {p.kind!r}{suggest(p.kind, kinds)}; known: {', '.join(kinds)}", "kind")
    for key in ("set_at", "test_at", "clear_at"):
        step = getattr(p, key)
        if step is not None and step not in STEPS:
            raise fail(f"{key}: unknown step {step!r}{suggest(step, STEPS)}; known: {', '.join(STEPS)}", key)
    if not p.expr.strip():
        raise fail("expr is empty", "expr")
    return p


def load_proposal(path: str | Path) -> Proposal:
    from mmbits.yamlio import LDict, load_file

    doc = load_file(path)
    where = str(path)
    if not isinstance(doc, LDict):
        raise InputError("a proposal is a YAML mapping with expr: and word:", file=where, line=1)
    unknown = set(doc) - KEYS
    if unknown:
        key = sorted(map(str, unknown))[0]
        raise InputError(f"unknown key {key!r} (known: {', '.join(sorted(KEYS))})", file=where, line=doc.line_of(key))
    for key in ("expr", "word"):
        if key not in doc:
            raise InputError(f"`{key}:` is missing", file=where, line=doc.line)
        if not isinstance(doc[key], (str, int)) or isinstance(doc[key], bool):
            raise InputError(f"`{key}:` must be a string", file=where, line=doc.line_of(key))

    def opt(key: str) -> str | None:
        value = doc.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InputError(f"`{key}:` must be a string", file=where, line=doc.line_of(key))
        return value

    p = Proposal(expr=str(doc["expr"]), word=str(doc["word"]), kind=opt("kind"), name=opt("proposal"),
                 set_at=opt("set_at"), test_at=opt("test_at"), clear_at=opt("clear_at"),
                 doc=opt("doc") or "", source=where)
    return validate(p, where, doc.line_of)
