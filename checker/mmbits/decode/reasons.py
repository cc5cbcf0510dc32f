"""The kernel's own verdict on a page (`page dumped because:`), re-checked on the bytes.

A dump from bad_page() (mm/page_alloc.c, v6.1 .. v7.1: "nonzero mapcount",
"non-NULL mapping", "nonzero _refcount", "PAGE_FLAGS_CHECK_AT_FREE flag(s)
set", "nonzero pincount", "corrupted mapping in tail page", "page_pool leak"),
from print_bad_pte() (mm/memory.c: "bad pte") or from
filemap_unaccount_folio() (mm/filemap.c: "still mapped when deleted") is the
kernel saying the page is inconsistent. When the decoded words show the same
thing, that is the page's real finding (exit 1), stated with the field that
shows it. Reasons that are not about the struct page (KASAN's "bad access
detected", VM_BUG_ON conditions, "migration failure") are notes: the page
itself may be fine.
"""

from __future__ import annotations

import re
from functools import cache

from mmbits.byvalue import ByValue
from mmbits.flags.data import load_flag_data


class PageFacts(ByValue):
    """What the decode read from the words, in the kernel's own terms."""

    mapcount_raw: int | None  # the _mapcount word as a signed int (-1: unmapped)
    mapcount: int | None  # what dump_page prints as mapcount
    refcount: int | None
    mapping: int | None
    pincount: int | None
    is_tail: bool
    tail_mapping: bool | None  # mapping holds TAIL_MAPPING (prep_compound_tail)
    kind: str
    flag_names: frozenset[str]  # the flag names the kernel printed for this folio
    pp_signature: bool

    _SHOWN = ("mapcount_raw", "mapcount", "refcount", "mapping", "pincount", "is_tail", "tail_mapping",
              "kind", "flag_names", "pp_signature")

    def __init__(self, mapcount_raw: int | None, mapcount: int | None, refcount: int | None,
                 mapping: int | None, pincount: int | None, is_tail: bool, tail_mapping: bool | None,
                 kind: str, flag_names: frozenset[str], pp_signature: bool) -> None:
        self.mapcount_raw = mapcount_raw
        self.mapcount = mapcount
        self.refcount = refcount
        self.mapping = mapping
        self.pincount = pincount
        self.is_tail = is_tail
        self.tail_mapping = tail_mapping
        self.kind = kind
        self.flag_names = flag_names
        self.pp_signature = pp_signature

    def _fields(self) -> tuple[object, ...]:
        return (self.mapcount_raw, self.mapcount, self.refcount, self.mapping, self.pincount, self.is_tail,
                self.tail_mapping, self.kind, self.flag_names, self.pp_signature)


class Verdict(ByValue):
    """A kernel reason and whether the bytes show it: `confirmed` None when they cannot say."""

    reason: str
    confirmed: bool | None
    field: str
    detail: str
    bad_page: bool  # from bad_page() (freeing or allocating); else a mapping/cache check

    _SHOWN = ("reason", "confirmed", "field", "detail", "bad_page")

    def __init__(self, reason: str, confirmed: bool | None, field: str, detail: str, bad_page: bool) -> None:
        self.reason = reason
        self.confirmed = confirmed
        self.field = field
        self.detail = detail
        self.bad_page = bad_page

    def _fields(self) -> tuple[object, ...]:
        return (self.reason, self.confirmed, self.field, self.detail, self.bad_page)


@cache
def _check_at_free_names() -> frozenset[str]:
    """Flag names in PAGE_FLAGS_CHECK_AT_FREE (include/linux/page-flags.h, through pageflags.yaml)."""
    for name, expr in load_flag_data().masks:
        if name == "PAGE_FLAGS_CHECK_AT_FREE":
            return frozenset(m.lower() for m in re.findall(r"PG_([A-Za-z0-9_]+)", repr(expr)))
    return frozenset()


def judge(reason: str | None, facts: PageFacts) -> Verdict | None:
    """The kernel's reason, confirmed or not by the decoded words; None for reasons not about the page."""
    if not reason:
        return None
    r = reason.strip()
    if r == "nonzero mapcount":
        raw = facts.mapcount_raw
        return Verdict(r, None if raw is None else raw != -1, "_mapcount",
                       f"_mapcount word is {raw} (a page being freed holds -1)", True)
    if r == "non-NULL mapping":
        return Verdict(r, None if facts.mapping is None else facts.mapping != 0, "mapping",
                       f"mapping is {facts.mapping:#x}" if facts.mapping is not None else "", True)
    if r == "nonzero _refcount":
        return Verdict(r, None if facts.refcount is None else facts.refcount != 0, "_refcount",
                       f"refcount is {facts.refcount}", True)
    if r == "nonzero pincount":
        return Verdict(r, None if facts.pincount is None else facts.pincount != 0, "_pincount",
                       f"the folio's pincount is {facts.pincount}", True)
    if r == "PAGE_FLAGS_CHECK_AT_FREE flag(s) set":
        bad = sorted(facts.flag_names & _check_at_free_names())
        return Verdict(r, bool(bad) if facts.flag_names else None, "flags",
                       f"flags {'|'.join(bad)} are set" if bad else "", True)
    if r == "corrupted mapping in tail page":
        # free_tail_page_prepare() checks ->mapping == TAIL_MAPPING only on the tails
        # where nothing else overlays it, so the kernel naming this reason says which
        ok = facts.tail_mapping
        return Verdict(r, None if ok is None else not ok, "mapping",
                       f"mapping is {facts.mapping:#x}, not TAIL_MAPPING" if facts.mapping is not None else "",
                       True)
    if r == "page_pool leak":
        return Verdict(r, facts.pp_signature, "pp_magic", "pp_magic holds PP_SIGNATURE: a page_pool page freed "
                       "to the page allocator", True)
    if r == "bad pte":
        m = facts.mapcount
        shown = (m is not None and m < 0) or facts.kind in ("buddy", "slab", "pgtable")
        return Verdict(r, shown, "_mapcount",
                       f"a page mapped by a user pte with mapcount {m}" + (f" and kind {facts.kind}"
                                                                           if facts.kind != "page" else ""), False)
    if r == "still mapped when deleted":
        m = facts.mapcount
        return Verdict(r, None if m is None else m > 0, "_mapcount",
                       f"a page-cache folio removed from its mapping while mapcount is {m}", False)
    return None
