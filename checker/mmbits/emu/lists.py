"""include/linux/list.h on emulated memory, with CONFIG_DEBUG_LIST's checks.

A list_head is addressed by its kernel virtual address; next/prev are read and
written with the list_head accessors derived from struct page's lru, so a list
threaded through pt_list or buddy_list rewrites exactly the bytes the other
union arms (compound_head, memdesc, ...) read. A failed check is reported the
way lib/list_debug.c words it and the operation is skipped, as the kernel does
without CONFIG_BUG_ON_DATA_CORRUPTION.
"""

from __future__ import annotations

from mmbits.emu.memory import Fault, Memory
from mmbits.layout.model import Field


class ListCorruption(Exception):
    """A DEBUG_LIST check failed; the list operation was not performed."""

    def __init__(self, message: str, entry: int):
        super().__init__(message)
        self.message = message
        self.entry = entry


class Lists:
    def __init__(self, mem: Memory, nxt: Field, prv: Field, poison1: int, poison2: int):
        self.mem = mem
        self.next_f = nxt
        self.prev_f = prv
        self.poison1 = poison1
        self.poison2 = poison2
        # list_head words are plain unsigned pointers: Memory's word fast path
        # (the same bytes and footprints as read_at/write_at)
        plain = all(w.bit_size is None and not w.signed and w._fmt is not None for w in (nxt, prv))
        fast = self._fast = plain and mem.fast_words
        self._load = mem.load_word if fast else mem.read_at
        self._store = mem.store_word if fast else mem.write_at

    def clone_for(self, mem: Memory) -> Lists:
        """The same list code over a cloned machine's memory."""
        new = Lists.__new__(Lists)
        new.__dict__.update(self.__dict__)
        new.mem = mem
        new._load = mem.load_word if self._fast else mem.read_at
        new._store = mem.store_word if self._fast else mem.write_at
        return new

    def next(self, node: int) -> int:
        return self._load(node, self.next_f)

    def prev(self, node: int) -> int:
        return self._load(node, self.prev_f)

    def _set_next(self, node: int, value: int) -> None:
        self._store(node, self.next_f, value)

    def _set_prev(self, node: int, value: int) -> None:
        self._store(node, self.prev_f, value)

    def init(self, head: int) -> None:
        """INIT_LIST_HEAD()."""
        self._set_next(head, head)
        self._set_prev(head, head)

    def empty(self, head: int) -> bool:
        return self.next(head) == head

    def _read(self, node: int, word: Field) -> int:
        """node->next or node->prev (`word`); a wild pointer is list corruption."""
        try:
            return self._load(node, word)
        except Fault as exc:
            raise ListCorruption(f"list corruption: {exc}", node) from None

    def _expect(self, node: int, field: Field, want: int, culprit: int, report: str, *args: int) -> None:
        """One of DEBUG_LIST's link checks (lib/list_debug.c): node->field must be `want`;
        `report` is the kernel's message, formatted only when the check fails (the
        hot path builds no string): `args` fill its {0}, {1} ..., {got} is what it found."""
        got = self._read(node, field)
        if got != want:
            raise ListCorruption(report.format(*args, got=f"{got:#x}"), culprit)

    # __list_add_valid_or_report() / __list_add()
    def _add(self, new: int, prev: int, nxt: int) -> None:
        if prev == 0:
            raise ListCorruption("list_add corruption. prev is NULL.", new)
        if nxt == 0:
            raise ListCorruption("list_add corruption. next is NULL.", new)
        self._expect(nxt, self.prev_f, prev, new,
                     "list_add corruption. next->prev should be prev ({0:#x}), but was {got}. (next={1:#x}).", prev, nxt)
        self._expect(prev, self.next_f, nxt, new,
                     "list_add corruption. prev->next should be next ({0:#x}), but was {got}. (prev={1:#x}).", nxt, prev)
        if new in (prev, nxt):
            raise ListCorruption(f"list_add double add: new={new:#x}, prev={prev:#x}, next={nxt:#x}.", new)
        store, nf, pf = self._store, self.next_f, self.prev_f
        store(nxt, pf, new)
        store(new, nf, nxt)
        store(new, pf, prev)
        store(prev, nf, new)

    def add(self, new: int, head: int) -> None:
        """list_add(): insert after head."""
        self._add(new, head, self._read(head, self.next_f))

    def add_tail(self, new: int, head: int) -> None:
        self._add(new, self._read(head, self.prev_f), head)

    def delete(self, entry: int) -> None:
        """list_del(): unlink, then poison next/prev with LIST_POISON1/2."""
        nxt = self._read(entry, self.next_f)
        prev = self._read(entry, self.prev_f)
        if nxt == 0 or prev == 0:
            raise ListCorruption(f"list_del corruption, {entry:#x}->{'next' if nxt == 0 else 'prev'} is NULL", entry)
        if nxt == self.poison1:
            raise ListCorruption(f"list_del corruption, {entry:#x}->next is LIST_POISON1 ({nxt:#x})", entry)
        if prev == self.poison2:
            raise ListCorruption(f"list_del corruption, {entry:#x}->prev is LIST_POISON2 ({prev:#x})", entry)
        self._expect(prev, self.next_f, entry, entry,
                     "list_del corruption. prev->next should be {0:#x}, but was {got}. (prev={1:#x})", entry, prev)
        self._expect(nxt, self.prev_f, entry, entry,
                     "list_del corruption. next->prev should be {0:#x}, but was {got}. (next={1:#x})", entry, nxt)
        store, nf, pf = self._store, self.next_f, self.prev_f
        store(nxt, pf, prev)
        store(prev, nf, nxt)
        store(entry, nf, self.poison1)
        store(entry, pf, self.poison2)

    def splice_tail(self, lst: int, head: int, init: bool = True) -> None:
        """list_splice_tail_init() (init=False: list_splice_tail())."""
        if self.empty(lst):
            return
        first = self._read(lst, self.next_f)
        last = self._read(lst, self.prev_f)
        prev = self._read(head, self.prev_f)
        self._set_prev(first, prev)
        self._set_next(prev, first)
        self._set_next(last, head)
        self._set_prev(head, last)
        if init:
            self.init(lst)

    def entries(self, head: int, limit: int = 100000) -> list[int]:
        """The nodes of a list, head excluded (list_for_each); a cycle that
        never returns to head is corruption."""
        out = []
        node = self._read(head, self.next_f)
        while node != head:
            out.append(node)
            if len(out) > limit:
                raise ListCorruption(f"list at {head:#x} does not return to its head", head)
            node = self._read(node, self.next_f)
        return out
