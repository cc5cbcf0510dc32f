"""The buddy page allocator of mm/page_alloc.c (v6.18) on emulated struct pages.

Free blocks sit on per-order free lists threaded through page->buddy_list
(an arm of the lru union), PageBuddy is PGTY_buddy in page_type, the order is
in page->private. Allocation takes list_first_entry() and list_del()s it
(writing LIST_POISON1/2 into the lru words), splits with expand(), checks
PAGE_FLAGS_CHECK_AT_PREP, sets the refcount and, with __GFP_COMP, builds the
compound page (PG_head, tails with compound_head = head | 1 and TAIL_MAPPING,
the order in folio->_flags_1). Freeing is ___free_pages(): put_page_testzero(),
free_pages_prepare() with page_bad_reason()'s checks and the flags it clears,
then __free_one_page()'s merging. The per-cpu lists are not modelled (pages go
straight to the buddy lists), nor are migratetypes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmbits.emu.machine import Machine


# tail bytes of blocks that passed the checks, by (facts, pfn, order): the
# same block is freed with the same bytes in many explored schedules
_CLEAN_TAILS: dict[tuple[Any, ...], bytes] = {}


class OutOfMemory(Exception):
    pass


class Buddy:
    def __init__(self, m: Machine):
        self.m = m
        f = m.facts
        self.f = f
        self.mem = m.mem
        self.F_flags = f.pw("flags")
        self.F_ref = f.pw("_refcount")
        self.F_mapcount = f.pw("_mapcount")
        self.F_type = f.pw("page_type")
        self.F_private = f.pw("private")
        self.F_mapping = f.pw("mapping")
        # struct page names the tail word compound_info from 7.1 (layouts/kernel/page.yaml)
        self.F_head = f.pw("compound_info" if "compound_info" in f.page.words else "compound_head")
        member = "buddy_list" if "buddy_list.next" in f.page.words else "lru"
        self.buddy_off = f.pw(f"{member}.next").offset
        self.buddy_member = member
        self.PG_head = 1 << f.bit("PG_head")
        self.PG_reserved = 1 << f.bit("PG_reserved")
        self.CHECK_AT_FREE = f.masks["PAGE_FLAGS_CHECK_AT_FREE"]
        self.CHECK_AT_PREP = f.masks["PAGE_FLAGS_CHECK_AT_PREP"]
        self.SECOND = f.masks["PAGE_FLAGS_SECOND"]
        self.type_shift = f.page_type_shift
        self.UINT_MAX = f.page_type_none
        self.PGTY_buddy = f.pgty["PGTY_buddy"] << self.type_shift
        self.max_order = f.max_order
        # order of a large folio lives in folio->_flags_1 (page[1].flags)
        if f.folio is not None:
            self.F_flags1 = f.folio.field("_flags_1")
            self.F_nr_pages = f.folio.words.get("_nr_pages")
            self.F_large_mapcount = f.folio.words.get("_large_mapcount")
        else:
            self.F_flags1 = self.F_flags.moved("_flags_1", self.F_flags.offset + f.sizeof_page)
            self.F_nr_pages = None
            self.F_large_mapcount = None
        self.F_memcg = f.page.words.get("memcg_data")
        self.heads: list[int] = []
        self.bad_pages: set[int] = set()

    # -- page predicates (all read from the bytes) -----------------------------
    def refcount(self, pfn: int) -> int:
        return self.mem.get(pfn, self.F_ref)

    def is_head(self, pfn: int) -> bool:
        return bool(self.mem.get(pfn, self.F_flags) & self.PG_head)

    def is_tail(self, pfn: int) -> bool:
        return bool(self.mem.get(pfn, self.F_head) & 1)

    def is_buddy(self, pfn: int) -> bool:
        return (self.mem.get(pfn, self.F_type) >> self.type_shift) == (self.PGTY_buddy >> self.type_shift)

    def page_has_type(self, pfn: int) -> bool:
        """page_type_has_type(): a signed compare against 0xff << 24 (top byte 0x80..0xfe)."""
        t = self.mem.get(pfn, self.F_type)
        signed = t - (1 << 32) if t & 0x80000000 else t
        limit = (0xFF << self.type_shift) - (1 << 32)
        return signed < limit

    def compound_order(self, pfn: int) -> int:
        """compound_order(): 0 unless PG_head, then folio_large_order() = _flags_1 & 0xff."""
        if not self.is_head(pfn):
            return 0
        return self.mem.get(pfn, self.F_flags1) & self.f.order_mask

    def buddy_order(self, pfn: int) -> int:
        return self.mem.get(pfn, self.F_private)

    def node_addr(self, pfn: int) -> int:
        return self.mem.page_addr(pfn) + self.buddy_off

    # -- boot -----------------------------------------------------------------
    def boot(self, reserved: int) -> None:
        """__init_single_page() for every page, PG_reserved on the first
        `reserved` ones (boot memory: the kernel image, swapper_pg_dir), the
        rest handed to the free lists in maximal aligned blocks."""
        m = self.m
        for order in range(self.max_order + 1):
            head = m.mem.alloc_static(f"zone->free_area[{order}].free_list", 2 * self.f.ptr_size)
            m.lists.init(head)
            self.heads.append(head)
        for pfn in range(self.mem.npages):
            m.init_single_page(pfn)
        for pfn in range(reserved):
            self.mem.or_bits(pfn, self.F_flags, self.PG_reserved)
            self.mem.set(pfn, self.F_ref, 1)
        pfn = reserved
        while pfn < self.mem.npages:
            order = self.max_order
            while order and (pfn & ((1 << order) - 1) or pfn + (1 << order) > self.mem.npages):
                order -= 1
            for i in range(1 << order):
                self.mem.set(pfn + i, self.F_ref, 0)
            self.mem.poison(pfn, 1, 1 << order)
            self._add_to_free_list(pfn, order)
            pfn += 1 << order

    # -- free lists -----------------------------------------------------------
    def _add_to_free_list(self, pfn: int, order: int) -> None:
        # set_buddy_order(): set_page_private(page, order); __SetPageBuddy(page)
        self.mem.set(pfn, self.F_private, order)
        if self.mem.get(pfn, self.F_type) != self.UINT_MAX:
            self.m.report("bad-page-at-free", f"__SetPageBuddy(): VM_BUG_ON_PAGE(page_type {self.mem.get(pfn, self.F_type):#x} "
                          f"!= UINT_MAX) for pfn {pfn:#x}", pfn=pfn, where="__free_one_page", crash=True)
        self.mem.set(pfn, self.F_type, self.PGTY_buddy)
        # Address-ordered free lists: the kernel list_add()s at the head (LIFO);
        # keeping them sorted is a canonical policy under which schedules that
        # differ only in the order of frees reach the same bytes (exploration
        # converges) while pages are still reused early (lowest pfn first).
        lists = self.m.lists
        load, nf = lists._load, lists.next_f  # lists.next(), without a call layer per node
        head = self.heads[order]
        node = load(head, nf)
        mem = self.mem
        target = mem.vmemmap + pfn * mem.size + self.buddy_off  # node_addr(pfn)
        budget = mem.npages
        while node != head and node < target:
            node = load(node, nf)
            budget -= 1
            if budget < 0:
                from mmbits.emu.lists import ListCorruption

                raise ListCorruption(f"free_area[{order}] list never returns to its head", head)
        lists.add_tail(target, node)

    def _del_from_free_list(self, pfn: int) -> None:
        # __del_page_from_free_list(): list_del(&page->buddy_list); __ClearPageBuddy(); private = 0
        self.m.lists.delete(self.node_addr(pfn))
        self.mem.set(pfn, self.F_type, self.UINT_MAX)
        self.mem.set(pfn, self.F_private, 0)

    def free_blocks(self) -> list[tuple[int, int]]:
        """(pfn, order) of every block on the free lists, read by walking them."""
        out = []
        for order, head in enumerate(self.heads):
            for node in self.m.lists.entries(head):
                out.append((self.mem.pfn_of(node, self.buddy_off), order))
        return out

    # -- allocation -------------------------------------------------------------
    def alloc_pages(self, order: int, comp: bool = False, zero: bool = False, who: str = "") -> int:
        """alloc_pages(gfp, order): the head pfn (refcount 1; tails 0 unless
        __GFP_COMP made them tails). Raises OutOfMemory."""
        m = self.m
        for cur in range(order, self.max_order + 1):
            head = self.heads[cur]
            if m.lists.empty(head):
                continue
            pfn = self.mem.pfn_of(m.lists.next(head), self.buddy_off)
            self._del_from_free_list(pfn)
            # expand(): hand back the upper halves
            size = 1 << cur
            high = cur
            while high > order:
                high -= 1
                size >>= 1
                self._add_to_free_list(pfn + size, high)
            self._prep_new_page(pfn, order, comp, zero, who)
            return pfn
        raise OutOfMemory(f"no free block of order {order}")

    def _prep_new_page(self, pfn: int, order: int, comp: bool, zero: bool, who: str) -> None:
        m = self.m
        n = 1 << order
        for i in range(n):
            reason = self.bad_reason(pfn + i, self.CHECK_AT_PREP, at_free=False)
            if reason is not None:
                m.report_bad_page(pfn + i, reason, at="check_new_page")
        self.mem.poison(pfn, 0, n)
        if zero:
            for i in range(n):
                self.mem.zero_page(pfn + i)
        # post_alloc_hook(): set_page_private(page, 0); set_page_refcounted(page)
        self.mem.set(pfn, self.F_private, 0)
        self.mem.set(pfn, self.F_ref, 1)
        if comp and order:
            self._prep_compound_page(pfn, order)
        m.on_alloc(pfn, order, who)

    def _prep_compound_page(self, pfn: int, order: int) -> None:
        """prep_compound_page(): __SetPageHead, prep_compound_tail() for each
        tail, prep_compound_head() (the order into _flags_1)."""
        mem = self.mem
        mem.or_bits(pfn, self.F_flags, self.PG_head)
        head_addr = mem.page_addr(pfn)
        tail_mapping = self.f.poison["TAIL_MAPPING"]
        for i in range(1, 1 << order):
            mem.set(pfn + i, self.F_mapping, tail_mapping)
            mem.set(pfn + i, self.F_head, head_addr | 1)
            mem.set(pfn + i, self.F_private, 0)
        # folio_set_order(): _flags_1 = (_flags_1 & ~0xff) | order
        flags1 = mem.get(pfn, self.F_flags1)
        mem.set(pfn, self.F_flags1, (flags1 & ~self.f.order_mask) | order, rmw=True)
        if self.F_nr_pages is not None:
            mem.set(pfn, self.F_nr_pages, 1 << order)
        if self.F_large_mapcount is not None:
            mem.set(pfn, self.F_large_mapcount, -1)

    # -- freeing -----------------------------------------------------------------
    def free_pages(self, pfn: int, order: int, who: str = "") -> None:
        """__free_pages(page, order) (___free_pages() in v6.18)."""
        mem = self.mem
        head = self.is_head(pfn)
        ref = self.refcount(pfn)
        if ref == 0:
            # put_page_testzero(): VM_BUG_ON_PAGE(page_ref_count(page) == 0, page)
            self.m.report("double-free", f"{who or '__free_pages'}(): pfn {pfn:#x} ({self.m.role(pfn)}) has refcount 0: "
                          f"it was already freed (put_page_testzero: VM_BUG_ON_PAGE(page_ref_count(page) == 0))",
                          pfn=pfn, where=f"{who or '__free_pages'}: {self.m.role(pfn, stable=True)}", crash=True)
            return
        mem.set(pfn, self.F_ref, ref - 1, rmw=True)
        if ref - 1 == 0:
            self.free_frozen(pfn, order)
        elif not head:
            while order > 0:
                order -= 1
                self.free_frozen(pfn + (1 << order), order)

    def free_frozen(self, pfn: int, order: int) -> None:
        """__free_frozen_pages(): free_pages_prepare(), then into the buddy."""
        if not self.free_pages_prepare(pfn, order):
            return
        self.m.on_free(pfn, order)
        self.mem.poison(pfn, 1, 1 << order)
        self._free_one_page(pfn, order)

    def _free_one_page(self, pfn: int, order: int) -> None:
        while order < self.max_order:
            buddy = pfn ^ (1 << order)
            if buddy >= self.mem.npages or not self.is_buddy(buddy) or self.buddy_order(buddy) != order:
                break
            self._del_from_free_list(buddy)
            pfn &= buddy
            order += 1
        self._add_to_free_list(pfn, order)

    def bad_reason(self, pfn: int, mask: int, at_free: bool) -> str | None:
        """page_bad_reason(): the LAST failing check wins (emulator.yaml)."""
        pages, base = self.mem.page_buf(pfn)
        self.mem.touch_pages(pfn, 1)
        # fast path: page_expected_state() as one comparison
        fast = self._fast
        if fast is not None:
            values = fast[0].unpack_from(pages, base)
            if values[1:] == fast[1] and not values[0] & mask:
                return None
        reason = None
        for field, check in self._checks:
            value = field.get(pages, base)
            if check.mask:
                if value & mask:
                    reason = check.reason if at_free else check.reason_prep
            elif value != check.expect:
                reason = check.reason
        return reason

    @property
    def _fast(self) -> tuple[Any, ...] | None:
        """A struct.Struct reading every checked word of one struct page at
        once (in offset order, the flags word first) and the values the
        other words must hold: page_expected_state() as one tuple compare.
        None if the words overlap, are bitfields, or flags is not first."""
        if "_fast_cache" in self.__dict__:
            cached: tuple[Any, ...] | None = self.__dict__["_fast_cache"]
            return cached
        import struct as _struct

        fast = None
        checks = sorted(self._checks, key=lambda fc: fc[0].offset)
        fields = [f for f, _ in checks]
        ok = (bool(checks) and checks[0][1].mask and not any(c.mask for _, c in checks[1:])
              and all(f.bit_size is None and f._fmt is not None for f in fields)
              and all(a.offset + a.size <= b.offset for a, b in zip(fields, fields[1:], strict=False)))
        if ok:
            fmt = "<" if fields[0].little else ">"
            pos = 0
            for f in fields:
                if f.offset > pos:
                    fmt += f"{f.offset - pos}x"
                fmt += f._fmt.format[-1]
                pos = f.offset + f.size
            if pos < self.mem.size:
                fmt += f"{self.mem.size - pos}x"
            fast = (_struct.Struct(fmt), tuple(c.expect for _, c in checks[1:]))
        self.__dict__["_fast_cache"] = fast
        return fast

    @property
    def _checks(self) -> list[Any]:
        checks = self.__dict__.get("_checks_cache")
        if checks is None:
            checks = [(self.f.page.words[c.word], c) for c in self.f.bad_page_checks if c.word in self.f.page.words]
            self.__dict__["_checks_cache"] = checks
        return checks

    def free_pages_prepare(self, pfn: int, order: int) -> bool:
        """free_pages_prepare() of v6.18: tail checks, PAGE_FLAGS_SECOND,
        page_type reset (6.17+), free_page_is_bad(), then clearing
        PAGE_FLAGS_CHECK_AT_PREP and resetting last_cpupid. A bad page is
        reported and not freed (the kernel leaks it on purpose)."""
        mem = self.mem
        m = self.m
        bad = 0
        if self.is_tail(pfn):
            m.report("bad-page-at-free", f"free_pages_prepare(): VM_BUG_ON_PAGE(PageTail(page)) for pfn {pfn:#x} "
                     f"(compound_head {mem.get(pfn, self.F_head):#x} has bit 0 set)", pfn=pfn,
                     where=f"free_pages_prepare: PageTail: {m.role(pfn, stable=True)}", crash=True)
            return False
        compound = self.is_head(pfn)
        if compound and self.compound_order(pfn) != order and m.config.get("DEBUG_VM", 0):
            # free_pages_prepare(): VM_BUG_ON_PAGE(compound && compound_order(page) != order, page)
            m.report("bad-page-at-free", f"free_pages_prepare(): VM_BUG_ON_PAGE(compound && compound_order(page) != "
                     f"order) for pfn {pfn:#x} ({m.role(pfn)}): compound order {self.compound_order(pfn)}, freed "
                     f"with order {order}", pfn=pfn, where=f"free_pages_prepare: compound order: "
                     f"{m.role(pfn, stable=True)}", crash=True)
            return False
        if order:
            if compound:
                mem.clear_bits(pfn + 1, self.F_flags, self.SECOND)
                if self.F_nr_pages is not None:
                    mem.set(pfn, self.F_nr_pages, 0)
            head_addr = mem.page_addr(pfn)
            start = 1
            if not compound:
                start = self._clean_tails(pfn, order)
            for i in range(start, 1 << order):
                if compound:
                    bad += self._free_tail_page_prepare(pfn, pfn + i, head_addr, i)
                reason = self.bad_reason(pfn + i, self.CHECK_AT_FREE, at_free=True)
                if reason is not None and m.report_bad_page(pfn + i, reason, at="free_pages_prepare"):
                    bad += 1
                    continue
                mem.clear_bits(pfn + i, self.F_flags, self.CHECK_AT_PREP)
        if self.f.free_resets_page_type and self.page_has_type(pfn):
            mem.set(pfn, self.F_type, self.UINT_MAX)
        reason = self.bad_reason(pfn, self.CHECK_AT_FREE, at_free=True)
        if reason is not None and m.report_bad_page(pfn, reason, at="free_pages_prepare"):
            bad += 1
        if bad:
            self.bad_pages.add(pfn)
            return False
        m.page_cpupid_reset_last(pfn)
        mem.clear_bits(pfn, self.F_flags, self.CHECK_AT_PREP)
        return True

    def _clean_tails(self, pfn: int, order: int) -> int:
        """Bulk path for the tail pages of a non-compound block: one C-level
        pass over their bytes; the first tail that would fail a check or needs
        a flag cleared is where the per-page loop resumes."""
        fast = self._fast
        if fast is None:
            return 1
        st, expected = fast
        n = 1 << order
        self.mem.touch_pages(pfn + 1, n - 1)
        tails = self.mem.pages_bytes(pfn + 1, n - 1)
        key = (self.f.config, self.f.page.struct, pfn, order)
        if _CLEAN_TAILS.get(key) == tails:  # the same bytes already passed (another schedule)
            return n
        clear = self.CHECK_AT_PREP | self.CHECK_AT_FREE
        for i, values in enumerate(st.iter_unpack(tails), start=1):
            if values[1:] != expected or values[0] & clear:
                return i
        if len(_CLEAN_TAILS) > 64:
            _CLEAN_TAILS.clear()
        _CLEAN_TAILS[key] = tails
        return n

    def _free_tail_page_prepare(self, head: int, pfn: int, head_addr: int, index: int) -> int:
        """free_tail_page_prepare(): the generic tail checks (the folio
        mapcount words of pages 1-2 are not modelled), then mapping = NULL and
        clear_compound_head()."""
        mem = self.mem
        bad = 0
        tail_mapping = self.f.poison["TAIL_MAPPING"]
        if index >= 3 and mem.get(pfn, self.F_mapping) != tail_mapping:
            bad = int(self.m.report_bad_page(pfn, "corrupted mapping in tail page", at="free_tail_page_prepare"))
        elif not self.is_tail(pfn):
            bad = int(self.m.report_bad_page(pfn, "PageTail not set", at="free_tail_page_prepare"))
        elif mem.get(pfn, self.F_head) != head_addr | 1:
            bad = int(self.m.report_bad_page(pfn, "compound_head not consistent", at="free_tail_page_prepare"))
        mem.set(pfn, self.F_mapping, 0)
        mem.set(pfn, self.F_head, 0)
        return bad
