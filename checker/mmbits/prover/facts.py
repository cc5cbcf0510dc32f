"""The prover's data: what the bits of the struct page words mean.

Loaded from layouts/<version>/words.yaml (pointer alignments and tag bits, the
flags and page_type words, renamed fields) and layouts/memdesc/memdesc_types.yaml
(memdesc type tables). Nothing here knows a bit number: it all comes from YAML.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from mmbits.cexpr import Expr
from mmbits.errors import InputError
from mmbits.expression.compiled import data_expr
from mmbits.paths import DEFAULT_KERNEL, layouts_root, version_dir
from mmbits.yamlio import LDict, load_file

# the facts are NamedTuples, not frozen dataclasses: every check imports this module, and a
# dataclass compiles its methods at import (five of them here: ~5 ms of a new question)


class Tag(NamedTuple):
    """A low bit of a pointer word that already means something."""

    bit: int
    name: str
    rule: str  # finding kind when a proposal lands on it
    severity: str
    cond: Expr | None
    doc: str

    def present(self, env: Any) -> bool:
        return self.cond is None or self.cond.truth(env)


class PointerWord(NamedTuple):
    anchor: str  # struct page member
    holds: str
    target_align: Expr
    tags: tuple[Tag, ...]


class WordFacts(NamedTuple):
    path: str
    flags_word: str
    page_type_word: str
    atomic_words: dict[str, str]
    owner_bits_disputed: tuple[int, int] | None
    owner_bits_doc: str
    type_setter: str
    type_clearer: str
    type_at_free: str
    pointers: dict[str, PointerWord]
    renamed: dict[str, str]
    variables: dict[str, str]
    compound_kinds: dict[str, str]  # kind -> why its pages can be compound
    head_flag: str = "PG_head"

    def anchors(self) -> tuple[str, ...]:
        return (self.flags_word, self.page_type_word, *self.pointers)


def _expr(text: object, path: str, line: int) -> Expr:
    """words.yaml's conditions: the config's symbols, checked like every data file's."""
    from mmbits.kconfig.model import load_model

    return data_expr(text, load_model().known_names() | {"ARCH"}, path, line)


@cache
def load_word_facts(version: str = DEFAULT_KERNEL) -> WordFacts:
    path = version_dir(version) / "words.yaml"
    doc = load_file(path)
    where = str(path)
    if not isinstance(doc, LDict):
        raise InputError("words.yaml must be a mapping", file=where, line=1)
    pointers: dict[str, PointerWord] = {}
    for anchor, spec in (doc.get("pointers") or {}).items():
        line = doc["pointers"].line_of(anchor)
        tags = []
        for i, t in enumerate(spec.get("tags") or []):
            tline = spec["tags"].line_of(i)
            severity = str(t.get("severity", "error"))
            if severity not in ("error", "warning", "note"):
                raise InputError(f"tag severity must be error/warning/note, got {severity!r}", file=where, line=tline)
            tags.append(Tag(int(t["bit"]), str(t["name"]), str(t.get("rule", "pointer-tag")), severity,
                            _expr(t["if"], where, tline) if "if" in t else None, " ".join(str(t.get("doc", "")).split())))
        pointers[str(anchor)] = PointerWord(str(anchor), str(spec.get("holds", "")),
                                            _expr(spec.get("target_align", "BITS_PER_LONG / 8"), where, line),
                                            tuple(tags))
    pt = doc.get("page_type") or {}
    disputed = pt.get("owner_bits_disputed")
    return WordFacts(
        path=where,
        flags_word=str(doc.get("flags_word", "flags")),
        page_type_word=str(doc.get("page_type_word", "page_type")),
        atomic_words={str(k): str(v) for k, v in (doc.get("atomic_words") or {}).items()},
        owner_bits_disputed=(int(disputed["bits"][0]), int(disputed["bits"][1])) if disputed else None,
        owner_bits_doc=str(disputed.get("doc", "")) if disputed else "",
        type_setter=str(pt.get("setter", "")),
        type_clearer=str(pt.get("clearer", "")),
        type_at_free=str(pt.get("at_free", "")),
        pointers=pointers,
        renamed={str(k): str(v) for k, v in (doc.get("renamed") or {}).items()},
        variables={str(k): str(v) for k, v in (doc.get("variables") or {}).items()},
        head_flag=str(doc.get("head_flag", "PG_head")),
        compound_kinds={str(k): " ".join(str(v).split()) for k, v in (doc.get("compound_kinds") or {}).items()},
    )


class MemdescTable(NamedTuple):
    name: str
    doc: str
    types: dict[int, str]
    layout: str | None  # the struct whose memdesc word this table describes (None: the final word)
    overlapping_pointer: str | None  # a pointer word that overlays the memdesc word (e.g. buddy_list.next)
    claimed_alias: tuple[str, tuple[int, ...]] | None  # what the plan says that pointer decodes as


class MemdescFacts(NamedTuple):
    path: str
    word: str  # STRUCT.FIELD of the final memdesc word
    type_bits: int
    descriptor_align: int
    tables: dict[str, MemdescTable]

    @property
    def field_name(self) -> str:
        return self.word.split(".", 1)[1]

    def table_for(self, struct: str) -> list[MemdescTable]:
        """The tables describing the memdesc word of `struct` (the final word: the tables without a layout)."""
        own = [t for t in self.tables.values() if t.layout == struct]
        if own:
            return own
        if struct == self.word.split(".", 1)[0]:
            return [t for t in self.tables.values() if t.layout is None]
        return []


@cache
def load_memdesc_facts() -> MemdescFacts:
    path = layouts_root() / "memdesc" / "memdesc_types.yaml"
    doc = load_file(path)
    where = str(path)
    tables = {}
    for name, spec in (doc.get("tables") or {}).items():
        claimed = spec.get("claimed_alias")
        tables[str(name)] = MemdescTable(
            str(name), str(spec.get("doc", "")), {int(k): str(v) for k, v in (spec.get("types") or {}).items()},
            spec.get("layout"), spec.get("overlapping_pointer"),
            (str(claimed["name"]), tuple(int(v) for v in claimed["values"])) if claimed else None)
    return MemdescFacts(where, str(doc.get("word", "memdesc.memdesc")), int(doc.get("type_bits", 4)),
                        int(doc.get("descriptor_align", 16)), tables)
