"""What a patch adds to page descriptor bit space: the questions to ask the prover.

Patterns only *find* candidates (a new `#define X BIT(...)`, an enum entry in
enum pageflags / pt_flags / pagetype, set_bit/test_bit/`|=`/`&` on a
descriptor word, a condition ORing a constant into a word); every verdict
comes from running the prover on the candidate over the config domain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mmbits.patch.diff import FileDiff, Hunk, Line, Patch

# Every pattern here runs on hostile lines (a 200 KB name, 100 KB of blanks): a name starts
# a match only at its first character and possessive runs (`*+`) never give characters
# back, so each line costs one pass instead of one per starting position
_IDENT = r"(?<!\w)[A-Za-z_]\w*+"
_ACCESS = rf"(?:&\s*+)?(?:\(\s*+)?{_IDENT}\s*+\)?\s*+->\s*+{_IDENT}(?:\s*+\.\s*+{_IDENT})*"
_DECL = re.compile(rf"\bstruct\s+({_IDENT})\s*\*\s*(?:const\s+)?({_IDENT})")
_DEFINE = re.compile(rf"^\s*#\s*define\s+({_IDENT})\s+(.*\S)\s*$")
_ENUM_OPEN = re.compile(rf"\benum\s+({_IDENT})\s*\{{")
_ENUM_ENTRY = re.compile(rf"^\s*+({_IDENT})\s*+(?:=\s*+([^,/]*[^,/\s]))?\s*+,?\s*+(?:/[/*].*)?$")
_BITOP = re.compile(rf"\b(__)?((?:test_and_)?(?:set|clear|change)_bit(?:_lock|_unlock)?|test_bit(?:_acquire)?)"
                    rf"\s*\(\s*(.+?)\s*,\s*({_ACCESS})\s*\)")
_ASSIGN_OP = re.compile(rf"({_ACCESS})\s*(\|=|&=|\^=)\s*(~?)\s*(.+?)\s*;")
_FOLIO_FLAG = re.compile(rf"\bFOLIO_(?:TEST_|SET_|CLEAR_)?FLAG\s*\(\s*({_IDENT})\s*,\s*(FOLIO_SECOND_PAGE|"
                         rf"FOLIO_HEAD_PAGE)\s*\)")
_COND = re.compile(r"\b(if|while)\s*\(")
_BITS_HINT = re.compile(r"\bBIT(?:_ULL)?\s*\(|<<|\bGENMASK|\b0[xX][0-9a-fA-F]+\b|\bPG_\w+|\bNR_PAGEFLAGS\b")

# enums whose entries are bit numbers in a flags word, and the word
BIT_ENUMS = {"pageflags": "page.flags", "pt_flags": "ptdesc.pt_flags", "slab_flags": "slab.flags"}
TYPE_ENUMS = {"pagetype": "page.page_type"}
# what ends an enum pageflags: entries after it are aliases or counters
ENUM_END = {"__NR_PAGEFLAGS"}
# include/linux/page-flags.h (v6.18) heads the second-page aliases with "Flags only valid
# for compound pages.  Stored in first tail page's flags word."
_SECOND_BLOCK = re.compile(r"valid for compound pages|first tail page", re.IGNORECASE)


@dataclass
class Site:
    """Where in the patch something is, for checkpatch-style output."""

    file: str
    line: int | None  # line in the new file
    patch_line: int
    text: str


@dataclass
class Define:
    name: str
    expr: str
    site: Site


@dataclass
class Use:
    """An operation on a descriptor word: set_bit(NR, &x->w), x->w |= M, x->w & M in a condition."""

    op: str  # set | clear | test | change | or-assign | and-assign | xor-assign | test-mask | condition
    expr: str  # the mask (bit numbers are wrapped in BIT())
    access: str  # the C access of the word
    atomic: bool
    site: Site
    raw: str  # the operand as written


@dataclass
class EnumEntry:
    enum: str
    name: str
    value: str | None
    site: Site
    # where in enum pageflags it sits: "flags" (a new bit before __NR_PAGEFLAGS), "alias"
    # (after it: `PG_x = PG_y` names an existing bit), "second" (the block page-flags.h
    # heads "Flags only valid for compound pages. Stored in first tail page's flags word")
    block: str = "flags"


@dataclass
class FolioFlag:
    name: str  # flag name without PG_
    page: str  # FOLIO_SECOND_PAGE | FOLIO_HEAD_PAGE
    site: Site


@dataclass
class Extract:
    defines: dict[str, Define] = field(default_factory=dict)
    uses: list[Use] = field(default_factory=list)
    enum_entries: list[EnumEntry] = field(default_factory=list)
    folio_flags: list[FolioFlag] = field(default_factory=list)
    declared: dict[str, str] = field(default_factory=dict)  # variable -> struct


def _site(fd: FileDiff, ln: Line, text: str | None = None) -> Site:
    return Site(fd.path, ln.new_no, ln.patch_line, ln.text if text is None else text)


def _balanced(text: str, start: int) -> str:
    """The text inside the parenthesis opening at `start`."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    return text[start + 1:]


def _logical_lines(hunk: Hunk) -> list[tuple[Line, str]]:
    """Lines of the new file with backslash continuations joined (for #define)."""
    out: list[tuple[Line, str]] = []
    pending: tuple[Line, str] | None = None
    for ln in hunk.lines:
        if ln.kind == "-":
            continue
        text = ln.text
        if pending is not None:
            first, acc = pending
            acc = acc[:-1] + " " + text.strip()
            if acc.rstrip().endswith("\\"):
                pending = (first, acc.rstrip())
                continue
            out.append((first, acc))
            pending = None
            continue
        if text.rstrip().endswith("\\") and text.lstrip().startswith("#"):
            pending = (ln, text.rstrip())
            continue
        out.append((ln, text))
    if pending is not None:
        out.append(pending)
    return out


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text)
    return re.sub(r"//.*$", "", text)


def extract(patch: Patch) -> Extract:
    ex = Extract()
    for fd in patch.files:
        for hunk in fd.hunks:
            for text in [hunk.func, *(ln.text for ln in hunk.lines)]:
                for m in _DECL.finditer(text):
                    ex.declared.setdefault(m.group(2), m.group(1))
    second_names = _second_page_aliases()
    for fd in patch.files:
        for hunk in fd.hunks:
            enum = None
            block = "flags"
            opened = _ENUM_OPEN.search(hunk.func)
            if opened:
                enum = opened.group(1)
            for ln, text in _logical_lines(hunk):
                code = _strip_comments(text)
                opened = _ENUM_OPEN.search(code)
                if opened:
                    enum, block = opened.group(1), "flags"
                    code = code[opened.end():]
                if enum == "pageflags" and ln.kind != "-":
                    block = _block_after(block, text, code, second_names)
                if enum is not None and "}" in code:
                    before = code.split("}", 1)[0]
                    if ln.kind == "+" and before.strip():
                        _enum_line(ex, enum, fd, ln, before, block)
                    enum = None
                    continue
                if ln.kind != "+":
                    continue
                if enum is not None:
                    _enum_line(ex, enum, fd, ln, code, block)
                    continue
                _code_line(ex, fd, ln, code)
    return ex


def _second_page_aliases() -> frozenset[str]:
    from mmbits.flags.data import load_flag_data

    return frozenset(a.name for a in load_flag_data().aliases if a.page == "second")


def _block_after(block: str, text: str, code: str, second_names: frozenset[str]) -> str:
    """The enum pageflags block a line leaves us in: its comment or an entry we know."""
    if _SECOND_BLOCK.search(text):
        return "second"
    first = code.strip().split("=", 1)[0].strip().rstrip(",")
    if first in ENUM_END and block == "flags":
        return "alias"
    if first in second_names:
        return "second"
    return block


def _enum_line(ex: Extract, enum: str, fd: FileDiff, ln: Line, code: str, block: str = "flags") -> None:
    if code.strip().startswith("#") or not code.strip():
        return
    for part in code.split(","):
        m = _ENUM_ENTRY.match(part.strip() + ",") if part.strip() else None
        if m:
            value = m.group(2).strip() if m.group(2) else None
            where = block if enum == "pageflags" else "flags"
            if where == "flags" and enum == "pageflags" and value is not None and re.fullmatch(_IDENT, value):
                where = "alias"  # `PG_x = PG_y` names an existing bit wherever it sits
            ex.enum_entries.append(EnumEntry(enum, m.group(1), value, _site(fd, ln), where))


def _code_line(ex: Extract, fd: FileDiff, ln: Line, code: str) -> None:
    m = _DEFINE.match(code)
    if m:
        name, value = m.group(1), m.group(2).strip()
        if "(" not in name and _BITS_HINT.search(value):
            ex.defines[name] = Define(name, value, _site(fd, ln))
        return
    for m in _FOLIO_FLAG.finditer(code):
        ex.folio_flags.append(FolioFlag(m.group(1), m.group(2), _site(fd, ln)))
    for m in _BITOP.finditer(code):
        nonatomic, op, nr, access = m.group(1), m.group(2), m.group(3), m.group(4)
        kind = "test" if op.startswith("test_bit") else op.replace("test_and_", "").split("_bit")[0]
        ex.uses.append(Use(kind, f"BIT({nr})", access, not nonatomic or kind == "test", _site(fd, ln), nr))
    for m in _ASSIGN_OP.finditer(code):
        access, op, neg, value = m.group(1), m.group(2), m.group(3), m.group(4)
        kind = {"|=": "or-assign", "&=": "and-assign", "^=": "xor-assign"}[op]
        if op == "&=" and not neg:
            continue  # masking with a kept set of bits is not a proposal of one
        ex.uses.append(Use(kind, value, access, False, _site(fd, ln), value))
    for m in _COND.finditer(code):
        cond = _balanced(code, m.end() - 1)
        _condition(ex, fd, ln, cond)
    if not _COND.search(code):
        for m in re.finditer(r"\breturn\s+(.+?);", code):
            _condition(ex, fd, ln, m.group(1))


def _condition(ex: Extract, fd: FileDiff, ln: Line, cond: str) -> None:
    """`x->w & M` tests a mask; `x->w | M` is a condition the prover checks for always-true."""
    from mmbits.expression.syntax import ExprError, flatten, parse_tree, walk

    for part in re.split(r"&&|\|\|", cond):
        text = " ".join(part.split())
        try:
            tree = parse_tree(text)
        except ExprError:
            continue  # not an expression of constants and one word (a cast of a pointer, a string ...)
        while tree.op == "un" and tree.value == "!":
            tree = tree.args[0]
        if tree.op != "bin" or tree.value not in ("|", "&"):
            continue
        op = str(tree.value)
        operands = flatten(tree, op)
        accesses = [o for o in operands if o.op == "member"]
        consts = [o for o in operands if o.op != "member"]
        if len(accesses) != 1 or not consts:
            continue
        inner = [n for c in consts for n in walk(c)]
        if any(n.op == "member" or (n.op == "call" and n.value not in ("BIT", "BIT_ULL")) for n in inner):
            continue  # a function call or a second word: not a plain word and mask
        mask = f" {op} ".join(c.source(text) for c in consts)
        ex.uses.append(Use("condition" if op == "|" else "test-mask", mask, str(accesses[0].value).lstrip("&"),
                           True, _site(fd, ln), tree.source(text)))
