"""Where a proposed word sits: which struct page, which bytes, which page word
it overlays (page->flags, compound_head, mapping, page_type, memcg_data), and
what that word is for (its role). Derived from the resolved layouts and the
MATCH/bit-rule data for every config, never from a list of field names.

`site_symbols()` says which config symbols can move the word, so a domain
proof only splits configs on those: MEMCG does not move ptdesc.pt_flags.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from mmbits.cexpr import suggest
from mmbits.errors import InputError
from mmbits.layout.registry import DESCRIPTORS, PACKING_SYMBOLS, LayoutSet
from mmbits.prover.facts import load_memdesc_facts, load_word_facts

if TYPE_CHECKING:  # resolving a site imports them: a new question whose sites are on disk does not
    from mmbits.layout.model import Layout, Member
    from mmbits.layout.spec import LayoutSpec, SpecNode

ROLES = ("flags", "page_type", "pointer", "memdesc", "plain")


# Other and Site are NamedTuples (immutable, equal and hashed by value), not frozen
# dataclasses: those compile their methods when imported, ~2 ms of every check for Site


class Other(NamedTuple):
    """Another member of the same struct over the word's bytes, in another union arm."""

    name: str
    type: str
    pointer: bool
    list_head: bool


class Site(NamedTuple):
    struct: str
    word: str  # key of Layout.words
    exists: bool
    bits: int  # width of the value the word holds
    bit_offset: int  # a bitfield's first bit inside its storage word (LSB numbering)
    storage_bits: int
    page_index: int  # struct page of a folio: 0 head, 1 second, 2+ tails
    page_offset: int  # byte offset inside that struct page
    overlay: bool  # the struct overlays struct page
    anchor: str | None  # struct page member the word overlays
    anchor_bits: int
    anchor_shift: int  # bit b of the word is bit b + anchor_shift of the anchor word
    role: str
    rule_pages: str  # pages a bit rule applies to: all | head
    others: tuple[Other, ...]
    member_type: str

    @property
    def label(self) -> str:
        return f"{self.struct}.{self.word}"

    def anchor_bit(self, bit: int) -> int | None:
        """The anchor word's bit for bit `bit` of this word, if it is inside the anchor."""
        if self.anchor is None:
            return None
        b = bit + self.bit_offset + self.anchor_shift
        return b if 0 <= b < self.anchor_bits else None

    def signature(self) -> tuple[Any, ...]:
        return (self.exists, self.bits, self.bit_offset, self.page_index, self.page_offset, self.anchor,
                self.anchor_shift, self.role)


def canonical_word(struct: str, field: str) -> tuple[str, str]:
    facts = load_word_facts()
    renamed = facts.renamed.get(f"{struct}.{field}")
    if renamed:
        struct, field = renamed.split(".", 1)
    return struct, field


def _pointerish(type_text: str) -> tuple[bool, bool]:
    lst = type_text.startswith(("struct list_head", "struct llist_node", "struct callback_head", "struct rcu_head"))
    return ("*" in type_text or lst), lst


def _quarters(layout: Layout) -> list[Member] | None:
    """Top-level blocks that each union a whole struct page (struct folio's four pages)."""
    blocks = list(layout.root.children)
    if len(blocks) < 2:
        return None
    for b in blocks:
        if b.kind != "union" or not any(c.type == "struct page" for c in b.children):
            return None
    return blocks


def _locate(layout: Layout, page: Layout, offset: int) -> tuple[int, int]:
    quarters = _quarters(layout)
    if quarters is not None:
        for i, q in enumerate(quarters):
            if q.offset <= offset < q.end:
                return i, offset - q.offset
    if page.size and layout.size > page.size:
        return offset // page.size, offset % page.size
    return 0, offset


@cache
def _bit_rule_pages() -> dict[str, str]:
    from mmbits.overlay import load_rules

    return {r.word: r.pages for r in load_rules().bits}


def resolve_site(lset: LayoutSet, struct: str, word: str, config: Any, env: Any = None) -> Site:
    if not lset.exists(struct, config):
        # a struct the config's release lacks (ptdesc before 6.6): the word is absent there,
        # which the proof reports as nothing proved on those configs (UNKNOWN), never SAFE
        return Site(struct, word, False, 0, 0, 0, 0, 0, False, None, 0, 0, "plain", "all", (), "")
    layout = lset.resolve(struct, config, env)
    page = lset.resolve("page", config, env) if "page" in lset.specs else layout
    site = _site(layout, page, struct, word)
    if not site.exists:
        # a renamed word (ptdesc.__page_flags became pt_flags in 6.18) is the same bits under
        # the name this release has: ask the question of that member
        for other in _same_word(struct, word):
            alt = _site(layout, page, struct, other)
            if alt.exists:
                return alt
    return site


def _same_word(struct: str, word: str) -> list[str]:
    """The other names `words.yaml: renamed` gives this struct's word, in either direction."""
    full = f"{struct}.{word}"
    out = []
    for old, new in load_word_facts().renamed.items():
        if new == full and old.startswith(struct + "."):
            out.append(old.split(".", 1)[1])
        elif old == full and new.startswith(struct + "."):
            out.append(new.split(".", 1)[1])
    return out


_SITES: dict[tuple[int, int, str], tuple[Layout, Layout, Site]] = {}


def _site(layout: Layout, page: Layout, struct: str, word: str) -> Site:
    # keyed by identity, and the layouts are kept beside the site: a layout the registry
    # let go could otherwise hand its id to another config's layout, and that config
    # would get this one's site (a 64-bit offset on arm32 was seen after the layout
    # reports had run)
    key = (id(layout), id(page), word)
    hit = _SITES.get(key)
    if hit is not None and hit[0] is layout and hit[1] is page and hit[2].struct == struct:
        return hit[2]
    site = _compute_site(layout, page, struct, word)
    _SITES[key] = (layout, page, site)
    return site


def _compute_site(layout: Layout, page: Layout, struct: str, word: str) -> Site:
    from mmbits.layout.model import exclusive

    facts = load_word_facts()
    field = layout.words.get(word)
    if field is None:
        return Site(struct, word, False, 0, 0, 0, 0, 0, False, None, 0, 0, "plain", "all", (), "")
    storage_bits = field.size * 8
    bits = field.bit_size if field.bit_size is not None else storage_bits
    bit_offset = field.bit_offset or 0
    if field.bit_size is not None and not field.little:
        bit_offset = storage_bits - bit_offset - field.bit_size
    member = layout.by_name.get(word.split(".", 1)[0].split("[", 1)[0])
    member_type = member.type if member is not None else ""
    overlay = struct in DESCRIPTORS
    page_index, page_offset = _locate(layout, page, field.offset) if overlay else (0, field.offset)
    anchor = None
    anchor_bits = 0
    shift = 0
    role = "plain"
    rule_pages = "all"
    if overlay:
        wsize = field.size
        for name in facts.anchors():
            m = page.by_name.get(name)
            if m is None:
                continue
            asize = min(m.size, page.env.get("BITS_PER_LONG", 64) // 8) if m.size else 0
            if not (m.offset <= page_offset and page_offset + wsize <= m.offset + asize):
                continue
            anchor, anchor_bits = name, asize * 8
            delta = page_offset - m.offset
            shift = 8 * delta if field.little else 8 * (asize - delta - wsize)
            break
        if anchor == facts.flags_word:
            role = "flags"
        elif anchor == facts.page_type_word:
            role = "page_type"
        elif anchor is not None:
            rule_pages = _bit_rule_pages().get(anchor, "all")
            role = "pointer" if (rule_pages == "all" or page_index == 0) else "plain"
    else:
        md = load_memdesc_facts()
        md_member = layout.by_name.get(md.field_name)
        if md.table_for(struct) and md_member is not None and md_member.offset == field.offset:
            role = "memdesc"
    others = []
    if member is not None:
        for m in layout.overlap(field.offset, field.size):
            if m is member or m.kind != "field" or not m.name or (m.ctype is not None and m.ctype.struct is not None
                                                                     and m.type.startswith("struct page")):
                continue
            if not exclusive(member, m):
                continue
            ptr, lst = _pointerish(m.type)
            others.append(Other(m.name, m.type, ptr, lst))
    return Site(struct, word, True, bits, bit_offset, storage_bits, page_index, page_offset, overlay, anchor,
                anchor_bits, shift, role, rule_pages, tuple(others), member_type)


# -- which config symbols can move a word ----------------------------------------

def _type_symbols(node: SpecNode, lset: LayoutSet) -> set[str]:
    t = node.type
    if t is None:
        return set()
    if t.pointers:
        return {"BITS_PER_LONG"}
    if t.base.startswith("struct ") and t.base[7:] in lset.specs:
        return set(lset.symbols(t.base[7:]))
    info = lset.types.infos.get(t.base)
    return set(info.size.symbols | info.align.symbols) if info is not None else {"BITS_PER_LONG"}


def _subtree_symbols(node: SpecNode, lset: LayoutSet) -> set[str]:
    out: set[str] = set()
    for n in node.walk():
        for e in (n.cond, n.bits, n.at, n.align):
            if e is not None:
                out |= e.symbols
        out |= _type_symbols(n, lset)
    return out


def _path(node: SpecNode, name: str) -> list[SpecNode] | None:
    for child in node.children:
        if child.kind == "field" and child.name == name:
            return [node, child]
        if child.kind != "field":
            if child.name == name:
                return [node, child]
            sub = _path(child, name)
            if sub is not None:
                return [node, *sub]
    return None


def _is_quarter_root(spec: LayoutSpec) -> bool:
    kids = spec.root.children
    return len(kids) >= 2 and all(
        k.kind == "union" and any(c.type is not None and c.type.base == "struct page" and not c.type.pointers
                                  for c in k.children) for k in kids)


def _member_symbols(lset: LayoutSet, spec: LayoutSpec, name: str, existence: bool = True) -> set[str]:
    """Symbols that can change where `name` sits in `spec` (and, with
    `existence`, whether it exists): conditions on its path, everything before
    it in an enclosing struct (not in a union: other arms do not move it), and
    its own type. The root's alignment only pads the end."""
    path = _path(spec.root, name)
    if path is None:
        return set(spec.symbols())
    out: set[str] = set()
    quarters = _is_quarter_root(spec)
    for depth, node in enumerate(path):
        exprs = [node.at, node.bits] + ([node.align] if depth else []) + ([node.cond] if existence else [])
        for e in exprs:
            if e is not None:
                out |= e.symbols
        if depth + 1 < len(path) and node.kind == "struct":
            if quarters and node is spec.root:
                continue  # each quarter starts at k * sizeof(struct page) (folio size assert)
            child = path[depth + 1]
            idx = next(i for i, c in enumerate(node.children) if c is child)
            for sib in node.children[:idx]:
                out |= _subtree_symbols(sib, lset)
    out |= _type_symbols(path[-1], lset)
    return out


def _matched_anchors(struct: str, head: str) -> set[str]:
    """Struct page members a descriptor member is asserted to overlay (match.yaml)."""
    from mmbits.overlay import load_rules

    if struct == "page":
        return {head}
    return {r.page for r in load_rules().match if r.desc == struct and r.field == head}


@cache
def _site_symbols(lset_id: int, struct: str, word: str) -> frozenset[str]:
    """The word's own position, every anchor's position, and the existence of
    the anchors the word is asserted to overlay (an anchor that does not exist
    cannot be the word's anchor unless something else sits there instead)."""
    lset = _LSETS[lset_id]
    facts = load_word_facts()
    spec = lset.spec(struct)
    head = word.split(".", 1)[0].split("[", 1)[0]
    out = {"BITS_PER_LONG", "CPU_BIG_ENDIAN", "ARCH"}
    out |= _member_symbols(lset, spec, head)
    if struct in DESCRIPTORS and "page" in lset.specs:
        page = lset.spec("page")
        matched = _matched_anchors(struct, head)
        for anchor in facts.anchors():
            out |= _member_symbols(lset, page, anchor, existence=anchor in matched)
    return frozenset(out)


_LSETS: dict[int, LayoutSet] = {}


def raw_site_symbols(lset: LayoutSet, struct: str, word: str) -> frozenset[str]:
    """The symbols the site of a word reads, layout names (the PACKING_SYMBOLS as such)."""
    _LSETS[id(lset)] = lset
    return _site_symbols(id(lset), struct, word)


def site_symbols(lset: LayoutSet, struct: str, word: str) -> frozenset[str]:
    """Config symbols (model names; packing-derived ones expanded) the site of a word depends on."""
    return model_symbols(raw_site_symbols(lset, struct, word))


def model_symbols(raw: frozenset[str]) -> frozenset[str]:
    """`raw_site_symbols` as Kconfig-model names: the packing-decided ones expanded to the packing's inputs."""
    from mmbits.flags.packing import INPUT_SYMBOLS

    out = set(raw)
    if out & set(PACKING_SYMBOLS):
        out -= set(PACKING_SYMBOLS)
        out |= set(INPUT_SYMBOLS)
    return frozenset(out)


def check_word_name(lset: LayoutSet, struct: str, word: str, config: Any) -> None:
    """An unknown struct or word is bad input, with close matches."""
    spec_names = list(lset.specs)
    if struct not in lset.specs:
        raise InputError(f"no struct {struct!r}{suggest(struct, spec_names)}; known: {', '.join(spec_names)}")
    layout = lset.resolve(struct, config)
    if word in layout.words:
        return
    # known in the spec at all (only absent in this config)?
    spec = lset.spec(struct)
    head = word.split(".", 1)[0]
    if _path(spec.root, head) is not None:
        return
    raise InputError(f"struct {struct} has no word {word!r}{suggest(word, layout.words)}")


def word_in_spec(lset: LayoutSet, struct: str, word: str) -> bool:
    """Whether the word's first member is in its struct's spec: known whatever the config
    (`check_word_name` then passes on any config)."""
    return struct in lset.specs and _path(lset.spec(struct).root, word.split(".", 1)[0]) is not None


def word_of_access(access: str, lset: LayoutSet, config: Any,
                   declared: dict[str, str] | None = None) -> tuple[str, str] | None:
    """(struct, word) for a C member access like `ptdesc->pt_flags.f` or `&folio->_flags_1`.

    The variable's struct comes from a declaration the caller saw (`struct ptdesc *pt`)
    or the usual variable names (words.yaml); the member path must be a word of that
    struct's layout (fields renamed since the patch was written are followed).
    """
    import re

    m = re.match(r"^\s*&?\s*\(?\s*([A-Za-z_]\w*)\s*\)?\s*->\s*([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*)", access)
    if not m:
        return None
    var, path = m.group(1), re.sub(r"\s+", "", m.group(2))
    struct = (declared or {}).get(var) or load_word_facts().variables.get(var)
    if struct is None or struct not in lset.specs:
        return None
    head, _, rest = path.partition(".")
    struct, head = canonical_word(struct, head)
    path = head + ("." + rest if rest else "")
    words = lset.resolve(struct, config).words
    if path in words:
        return struct, path
    head = path.split(".", 1)[0]
    if head in words:
        return struct, head
    return None
