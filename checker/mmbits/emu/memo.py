"""A step's effect remembered by the values it read, and replayed.

Exhaustive exploration runs the same kernel step (the same thread, the same
`Step`) from tens of thousands of states, and almost every time the step
reads the same bytes: on simulate's default workload 57,681 transitions are
2,747 distinct (step, values read) runs, on 2 x 4 huge-pmd 205,768 are 3,496.
The kernel code is
deterministic, so a step that finds every object it reads and writes as an
earlier run found them does exactly what that run did: the same stores, the
same findings, the same next steps, the same footprint.

`StepMemo.run()` executes a step while its footprint records (a miss) and
keeps its effect under the values, at the state before the step, of every
key the footprint read or wrote and of everything the step changed (a state
diff, so a write the footprint does not name is still keyed and replayed);
later, from any state where those values are equal (a hit), it replays the
effect: struct page bytes, kernel data and stack words, the shadow, page
contents, machine-state fields and dict entries, watched pages, what the
IOMMU must walk again, the events, the footprint and the steps scheduled.

A key's value is read at the granularity its footprint names: a whole
struct page for ("p", pfn), the whole table graph, ("link",), as the hash of
every page's contents, so a replay is keyed on at least what the step could
have seen. Where the footprint names a derived fact more finely than the
step saw it, the key is what the step saw: a question to
KernelTables.reachable() about one page (read as ("lk", p) for every page p
from which it can be reached) is keyed as ("rq", pfn), reachable()'s answer
about that page, which is all the step got; a derived key the step only
writes (("link",), ("lk", pfn), ("cv", pfn): footprint.DERIVED) is not
keyed at all -- the replay does not set it, it follows from the entries and
cache entries the step changed, which are keyed (an unrelated table changed
elsewhere no longer misses: 525 of the 2,747 misses of simulate's default
workload were such). Everything the step could depend on
and no footprint names is in the key too: the watched bytes of a page it
writes (Memory.set() tells the marking about such a store). The IOMMU's walks
after the step are not remembered: they run for real after a replay. A run
whose keys do not fit the tree (an input no key names changed its path) is
not kept (`unplaced`; none in the tests): the tree only ever answers with a
run every key of whose path it has compared.

`StepMemo.enabled = False` is the reference path (every step executed);
tests/emu/test_memo.py explores every variant both ways.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from mmbits.emu.footprint import DERIVED, Footprint
from mmbits.emu.memory import CHUNK_MASK, CHUNK_PAGES, CHUNK_SHIFT, Memory

if TYPE_CHECKING:
    from mmbits.emu.machine import Event, Machine
    from mmbits.emu.steps import Step

Key = tuple[Any, ...]

# the machine-state dict fields and the key family naming one entry's page or key
_DICTS = {"kinds": "k", "roles": "r", "marks": "mk", "iommu_cache": "c"}
# the families whose keys (family, pfn) name a page, as runs (family, first, count)
_RUNS = ("p", "s", "pw", "mk", "k", "cv")
# entries kept before the memo starts again (a bound on its memory)
MAX_EFFECTS = 200_000


class Effect:
    """What one run of a step did, to be done again on an equal state."""

    __slots__ = ("pages", "regions", "shadow", "contents", "fields", "dicts", "watched", "walk_dirty",
                 "version", "walk_reads", "events", "steps", "foot", "writer", "touched", "written", "poisoned")

    def __init__(self) -> None:
        self.pages: list[tuple[int, bytes]] = []
        self.regions: list[tuple[str, int, bytes]] = []
        self.shadow: list[tuple[int, int]] = []
        # pfn -> (its new entries or None, the hash the contents accumulator keeps for them)
        self.contents: list[tuple[int, dict[int, tuple[Any, ...]] | None, int]] = []
        self.fields: list[tuple[str, Any]] = []
        # (field, the entries set (value) and removed (None), None) or (field, None, its whole new value)
        self.dicts: list[tuple[str, list[tuple[Any, Any]] | None, dict[Any, Any] | None]] = []
        self.watched: list[tuple[int, tuple[int, int] | None]] = []
        self.walk_dirty: set[Any] = set()
        self.version = False
        self.walk_reads: dict[int, Any] | None = None
        self.events: list[Event] = []
        self.steps: tuple[Step, ...] = ()
        self.foot = Footprint()
        self.writer = ""
        # the pages the run added to Memory.lru_touched, stored to (each is rehashed),
        # and whose shadow it set (rehashed when their list words were ever written)
        self.touched: list[int] = []
        self.written: list[int] = []
        self.poisoned: frozenset[int] = frozenset()  # (a set: intersected with Memory.lru_touched)


class OrderedKeys(set):  # type: ignore[type-arg]
    """A footprint's key set that also lists its keys in the order the step
    first touched them (a block's span as one composite key): the order the
    memo's decision tree tests them in. Used only while a miss records."""

    __slots__ = ("order",)

    def __init__(self, order: list[Key]) -> None:
        super().__init__()
        self.order = order

    def asked(self, key: Key) -> None:
        """The step asked a derived question (pgtable's reachable() about one
        page, key ("rq", pfn)): keyed by its answer, in order; the footprint
        holds what the answer derives from."""
        self.order.append(key)

    def add(self, key: Key) -> None:
        if key not in self:
            set.add(self, key)
            self.order.append(key)

    def update(self, *keys: Any) -> None:
        for it in keys:
            if isinstance(it, frozenset) and len(it) > 1:  # a block's span(): one composite key
                new = it - self
                if new:
                    set.update(self, new)
                    pfns = [k[1] for k in it]
                    self.order.append((next(iter(it))[0], min(pfns), len(pfns)))
                continue
            for key in it:
                self.add(key)


class _WatchSpy(dict):  # type: ignore[type-arg]
    """Memory.watched while a miss records: a store asking whether its page is
    watched (Memory.set, store_word) is a read of ("pw", pfn), in order."""

    __slots__ = ("order",)

    def __init__(self, watched: dict[int, tuple[int, int]], order: list[Key]) -> None:
        super().__init__(watched)
        self.order = order

    def __contains__(self, pfn: object) -> bool:
        self.order.append(("pw", pfn))
        return dict.__contains__(self, pfn)


class _AddSpy(set):  # type: ignore[type-arg]
    """Memory.lru_touched while a miss records: every page the step adds (a
    store over its list words), for the replay to add the same ones."""

    __slots__ = ("added",)

    def __init__(self, touched: set[int]) -> None:
        super().__init__(touched)
        self.added: set[int] = set()

    def add(self, pfn: int) -> None:
        self.added.add(pfn)
        set.add(self, pfn)


class _Node:
    """A test in the decision tree: the value of `key` in the state picks the child."""

    __slots__ = ("key", "get", "kids")

    def __init__(self, key: Key) -> None:
        self.key = key
        self.get = getter(key)
        self.kids: dict[Any, _Node | _Chain | Effect] = {}


class _Chain:
    """Tests in a row that each had one value in every run kept so far: the
    state's value of each key compared with it, the next node after the last
    (most of a tree's tests are such runs: one comparison each instead of a
    node and a dict look-up each). A run that differs at one of them splits
    the chain there (StepMemo._place)."""

    __slots__ = ("keys", "vals", "tests", "next")

    def __init__(self, keys: list[Key], vals: list[Any], nxt: _Node | _Chain | Effect) -> None:
        self.keys = keys
        self.vals = vals
        self.tests = [(compared(k), v) for k, v in zip(keys, vals, strict=True)]
        self.next = nxt


class StepMemo:
    """The effects of the steps of one exploration (shared by every clone of
    its machine): per (thread, step), a decision tree over the values of the
    keys in the order the step touches them (a deterministic step touches
    the same next key as long as the values so far are the same), the
    effects at its leaves. A lookup tests one path; reaching a leaf means
    every key the recorded run touched has the value it had then."""

    # False: the reference path, every step executed
    enabled: ClassVar[bool] = True

    def __init__(self) -> None:
        self.roots: dict[tuple[str, Step], _Node | _Chain | Effect] = {}
        self.hits = 0
        self.misses = 0
        self.kept = 0
        self.unplaced = 0  # runs whose key order disagreed with the tree's (not kept)

    def run(self, m: Machine, thread: str, step: Step, fp: Footprint) -> Sequence[Step]:
        """m.exec_step(thread, step) while `fp` records (m.record(fp) is on)."""
        if not self.enabled or m.trace or m.mem.journal is not None:
            return m.exec_step(thread, step)
        node = self.roots.get((thread, step))
        mem, sd = m.mem, m.st.__dict__
        while node is not None:
            cls = node.__class__
            if cls is _Chain:
                for get, val in node.tests:  # type: ignore[union-attr]
                    if get(m, mem, sd) != val:
                        node = None
                        break
                else:
                    node = node.next  # type: ignore[union-attr]
                continue
            if cls is Effect:
                self.hits += 1
                return replay(m, node, fp)  # type: ignore[arg-type]
            node = node.kids.get(node.get(m, mem, sd))  # type: ignore[union-attr]
        self.misses += 1
        return self._record(m, thread, step, fp)

    def _record(self, m: Machine, thread: str, step: Step, fp: Footprint) -> list[Step]:
        before = m.clone()  # shares every chunk and dict: m's writes now copy them
        mem = m.mem
        sub = Footprint()
        order: list[Key] = []
        # what the step reads decides where it goes next: in order; what it only
        # writes is keyed after that (it cannot change the path)
        sub.reads, sub.whole_r = OrderedKeys(order), OrderedKeys(order)
        dirty, mem.walk_dirty = mem.walk_dirty, set()
        version, nevents = mem.version, len(m.emitted)
        mem.watched = _WatchSpy(mem.watched, order)
        touched = mem.lru_touched = _AddSpy(mem.lru_touched)
        m.record(sub)
        try:
            more = m.exec_step(thread, step)
        finally:
            m.record(fp)
            mem.watched = dict(mem.watched)
            mem.lru_touched = set(touched)
            added, mem.walk_dirty = mem.walk_dirty, dirty
            dirty.update(added)
        sub.reads, sub.whole_r = set(sub.reads), set(sub.whole_r)
        fp.merge(sub)
        eff = Effect()
        eff.foot = sub  # frozen once the diff has read its writes
        eff.walk_dirty = added
        eff.version = mem.version != version
        eff.events = list(m.emitted[nevents:])
        eff.steps = tuple(more)
        eff.writer = mem.writer
        # a store's path depends on whether its page is watched (Memory.set), even
        # when it leaves the bytes as they were
        written = {k[1] for k in sub.writes if k[0] == "p"}
        # what the state hash must look at again, as Memory.set() and poison() say it
        eff.touched = sorted(touched.added)
        eff.written = sorted(written)
        eff.poisoned = frozenset(k[1] for k in sub.writes if k[0] == "s")
        extra: set[Key] = {("pw", pfn) for pfn in written}
        extra.update(sub.writes)
        extra.update(sub.whole_w)
        _diff(before, m, eff, extra, sub.writes, written)
        keys = _canonical(order, extra)
        _settle(sub)
        if self.kept >= MAX_EFFECTS:
            self.roots.clear()
            self.kept = 0
        self._place((thread, step), keys, [getter(k)(before, before.mem, before.st.__dict__) for k in keys], eff)
        return list(more)

    def _place(self, root: tuple[str, Step], keys: list[Key], vals: list[Any], eff: Effect) -> None:
        node = self.roots.get(root)
        if node is None:
            self.roots[root] = _chain(keys, vals, eff)
            self.kept += 1
            return
        # where the node being looked at hangs: a dict entry (the roots, a
        # node's kids) or a chain's next
        holder: Any = self.roots
        slot: Any = root
        i = 0
        while True:
            cls = node.__class__
            if cls is _Chain:
                chain: _Chain = node  # type: ignore[assignment]
                for j, key in enumerate(chain.keys):
                    if i >= len(keys) or keys[i] != key:
                        self.unplaced += 1
                        return
                    if vals[i] != chain.vals[j]:
                        self._split(chain, j, holder, slot, _chain(keys[i + 1:], vals[i + 1:], eff), vals[i])
                        self.kept += 1
                        return
                    i += 1
                holder, slot, node = chain, None, chain.next
                continue
            if cls is Effect or i >= len(keys) or node.key != keys[i]:  # type: ignore[union-attr]
                self.unplaced += 1
                return
            kids = node.kids  # type: ignore[union-attr]
            nxt = kids.get(vals[i])
            if nxt is None:
                kids[vals[i]] = _chain(keys[i + 1:], vals[i + 1:], eff)
                self.kept += 1
                return
            holder, slot, node = kids, vals[i], nxt
            i += 1

    @staticmethod
    def _split(chain: _Chain, j: int, holder: Any, slot: Any, new: _Node | _Chain | Effect, val: Any) -> None:
        """A run whose value at the chain's test j differs: a node there, its
        kids the rest of the chain (the chain's value) and `new` (`val`)."""
        fork = _Node(chain.keys[j])
        rest: _Node | _Chain | Effect = chain.next
        if j + 1 < len(chain.keys):
            rest = _Chain(chain.keys[j + 1:], chain.vals[j + 1:], chain.next)
        fork.kids[chain.vals[j]] = rest
        fork.kids[val] = new
        if j:  # the tests before j stay a chain, now ending at the node
            del chain.keys[j:], chain.vals[j:], chain.tests[j:]
            chain.next = fork
        elif isinstance(holder, _Chain):
            holder.next = fork
        else:
            holder[slot] = fork


def _chain(keys: list[Key], vals: list[Any], eff: Effect) -> _Chain | Effect:
    return _Chain(list(keys), list(vals), eff) if keys else eff


def _settle(foot: Footprint) -> None:
    """A kept effect's footprint with its key sets frozen: every replay merges
    them into the transition's footprint, and a set takes a frozenset's keys
    with their stored hashes (a tuple's keys would be hashed again, each replay)."""
    for name in ("reads", "writes", "whole_r", "whole_w", "part_r", "part_w"):
        setattr(foot, name, frozenset(getattr(foot, name)))


def _canonical(order: list[Key], extra: set[Key]) -> list[Key]:
    """The keys read, in the order first read, each once, as the tree tests
    them (the table graph's keys as one, a page's key as a run of one), then
    the keys only written or found by the diff, sorted by their text: the same
    order in every process (str hashes are salted per process), and an entry's
    key ("e", ...) before its table pointer's ("et", ...), whose presence among
    the writes depends on the entry's old value: the tree then tells the two
    runs apart at the entry's node instead of refusing the second (`unplaced`)."""
    out: list[Key] = []
    seen: set[Key] = set()
    for key in order:
        if key[0] == "lk":  # read by a question about one page: its ("rq", pfn) stands for it
            continue
        key = _norm(key)
        if key not in seen:
            seen.add(key)
            out.append(key)
    rest = {_norm(k) for k in extra if k[0] not in DERIVED}
    rest -= seen
    return out + sorted(rest, key=repr)


_LINK = ("link",)
_PER_PAGE = frozenset(_RUNS)


def _norm(key: Key) -> Key:
    fam = key[0]
    if fam == "link":
        return _LINK
    if len(key) == 2 and fam in _PER_PAGE and (key[1] or fam != "cv"):
        return (fam, key[1], 1)
    return key


def _diff(before: Machine, m: Machine, eff: Effect, keys: set[Key], writes: set[Key], written: set[int]) -> None:
    """What the step changed (before -> m) into `eff`, the keys of it into
    `keys`. The footprint's writes (`writes`, the struct pages among them
    `written`) are where to look first; a chunk or buffer that changed
    elsewhere too is compared whole."""
    old, new = before.mem, m.mem
    size = new.size
    for c, chunk in enumerate(new._chunks):
        was = old._chunks[c]
        if chunk is was:
            continue
        first = c << CHUNK_SHIFT
        hinted = [p for p in written if first <= p < first + CHUNK_PAGES]
        expect = bytearray(was)
        for pfn in hinted:
            a = (pfn & CHUNK_MASK) * size
            expect[a:a + size] = chunk[a:a + size]
        pfns = sorted(hinted) if expect == chunk else range(first, first + CHUNK_PAGES)
        for pfn in pfns:
            a = (pfn & CHUNK_MASK) * size
            if chunk[a:a + size] != was[a:a + size]:
                eff.pages.append((pfn, bytes(chunk[a:a + size])))
                keys.add(("p", pfn))
                keys.add(("pw", pfn))
    for region in ("kdata", "stack", "slab"):
        a_buf, b_buf = getattr(old, region), getattr(new, region)
        if a_buf == b_buf:
            continue
        hinted_w = sorted(k[2] * 8 for k in writes if k[0] == "m" and k[1] == region)
        expect = bytearray(a_buf)
        for w in hinted_w:
            expect[w:w + 8] = b_buf[w:w + 8]
        for w in hinted_w if expect == b_buf else range(0, len(b_buf), 8):
            if a_buf[w:w + 8] != b_buf[w:w + 8]:
                eff.regions.append((region, w, bytes(b_buf[w:w + 8])))
                keys.add(("m", region, w >> 3))
    a_sh, b_sh = old.shadow, new.shadow
    if a_sh != b_sh:
        hinted_s = sorted(k[1] for k in writes if k[0] == "s")
        expect = bytearray(a_sh)
        for pfn in hinted_s:
            expect[pfn] = b_sh[pfn]
        for pfn in hinted_s if expect == b_sh else range(len(b_sh)):
            if a_sh[pfn] != b_sh[pfn]:
                eff.shadow.append((pfn, b_sh[pfn]))
                keys.add(("s", pfn))
    for pfn in old.contents.keys() | new.contents.keys():
        now = new.contents.get(pfn)
        if now is not old.contents.get(pfn):
            eff.contents.append((pfn, now, hash((pfn, frozenset(now.items()))) if now else 0))
            keys.add(("e", pfn))
    if new.watched != old.watched:
        for pfn in old.watched.keys() | new.watched.keys():
            if new.watched.get(pfn) != old.watched.get(pfn):
                eff.watched.append((pfn, new.watched.get(pfn)))
                keys.add(("mk", pfn))
    if m._walk_reads is not before._walk_reads:
        eff.walk_reads = m._walk_reads
    a_st, b_st = before.st.__dict__, m.st.__dict__
    for name, value in b_st.items():
        if name.startswith("_"):
            continue
        was = a_st[name]
        if value is was:
            continue
        family = _DICTS.get(name)
        if family is None:
            if value != was or type(value) is not type(was):
                eff.fields.append((name, value))
                keys.add(("st", name))
            continue
        if family == "c" and ("c", 0) in keys:  # replaced whole, whatever it held (an IOMMU flush)
            eff.dicts.append((name, None, dict(value)))
            continue
        changes = _dict_changes(was, value, _hinted(family, writes, len(m.markers)))
        if changes:
            eff.dicts.append((name, changes, None))
            for k, _v in changes:
                keys.add(("c", *k) if family == "c" else (family, k[1] if family == "mk" else k))



def _hinted(family: str, writes: set[Key], markers: int) -> list[Any]:
    """The dict keys of family `family` the footprint says a step wrote."""
    if family == "c":
        return [k[1:] for k in writes if k[0] == "c" and len(k) == 3]
    pfns = [k[1] for k in writes if k[0] == family]
    if family == "mk":
        return [(i, pfn) for pfn in pfns for i in range(markers)]
    return pfns


def _dict_changes(was: dict[Any, Any], now: dict[Any, Any], hinted: list[Any]) -> list[tuple[Any, Any]]:
    """The entries set (key, value) and removed (key, None) from `was` to `now`:
    the `hinted` keys when the rest is unchanged, else every key compared."""
    expect = dict(was)
    changes = []
    for k in hinted:
        v = now.get(k)
        if v is None:
            if expect.pop(k, None) is not None:
                changes.append((k, None))
        elif expect.get(k) != v:
            expect[k] = v
            changes.append((k, v))
    if expect == now:
        return changes
    out: list[tuple[Any, Any]] = [(k, None) for k in was.keys() - now.keys()]
    return out + list(now.items() - was.items())


_GETTERS: dict[Key, Any] = {}


def compared(key: Key) -> Any:
    """getter(key) for a chain's test, which only compares the value with ==:
    a struct page's bytes as a slice of its chunk, a word of kernel data or
    stack as a slice of its buffer, not copied again into bytes."""
    if key[0] == "m" and key[1] in ("kdata", "stack"):
        lo = key[2] * 8
        hi = lo + 8
        if key[1] == "kdata":
            return lambda m, mem, sd: mem.kdata[lo:hi]
        return lambda m, mem, sd: mem.stack[lo:hi]
    if key[0] == "p" and key[2] == 1:
        c = key[1] >> CHUNK_SHIFT
        i = key[1] & CHUNK_MASK

        def page(m: Machine, mem: Memory, sd: dict[str, Any]) -> bytearray:
            size = mem.size
            data: bytearray = mem._chunks[c][i * size:(i + 1) * size]
            return data
        return page
    return getter(key)


def getter(key: Key) -> Any:
    """A function of a machine giving the value of footprint key `key` in its
    state (read raw: nothing is recorded); one per key, kept."""
    fn = _GETTERS.get(key)
    if fn is None:
        fn = _GETTERS[key] = _make_getter(key)
    return fn


def _make_getter(key: Key) -> Any:  # noqa: C901 - one branch per key family
    """The getter of one key: called as get(m, m.mem, m.st.__dict__)."""
    fam = key[0]
    if fam == "p":
        a, n = key[1], key[2]
        if n == 1:
            c = a >> CHUNK_SHIFT
            i = a & CHUNK_MASK

            def page(m: Machine, mem: Memory, sd: dict[str, Any]) -> bytes:
                size = mem.size
                base = i * size
                return bytes(mem._chunks[c][base:base + size])
            return page
        return lambda m, mem, sd: mem.pages_bytes(a, n)
    if fam == "s":
        a, b = key[1], key[1] + key[2]
        if b == a + 1:
            return lambda m, mem, sd: mem.shadow[a]
        return lambda m, mem, sd: bytes(mem.shadow[a:b])
    if fam == "pw":  # the watched bytes of written pages
        a, b = key[1], key[1] + key[2]
        if b == a + 1:
            return lambda m, mem, sd: mem.watched.get(a)
        return lambda m, mem, sd: _in_range(mem.watched, a, b)
    if fam == "mk":
        a, b = key[1], key[1] + key[2]
        if b == a + 1:
            def marks1(m: Machine, mem: Memory, sd: dict[str, Any]) -> Any:
                marks = sd["marks"]
                held = tuple((i, marks[(i, a)]) for i in range(len(m.markers)) if (i, a) in marks) if marks else ()
                return held, mem.watched.get(a)
            return marks1
        return lambda m, mem, sd: (_marks_in(sd["marks"], a, b), _in_range(mem.watched, a, b))
    if fam == "k":
        a, b = key[1], key[1] + key[2]
        if b == a + 1:
            return lambda m, mem, sd: sd["kinds"].get(a)
        return lambda m, mem, sd: _in_range(sd["kinds"], a, b)
    if fam == "cv" and len(key) == 3:
        a, b = key[1], key[1] + key[2]
        if b == a + 1:
            return lambda m, mem, sd: a in sd["iommu_cache"].values()
        return lambda m, mem, sd: tuple(sorted({p for p in sd["iommu_cache"].values() if a <= p < b}))
    if fam == "m":
        region, lo = key[1], key[2] * 8
        return lambda m, mem, sd: bytes(getattr(mem, region)[lo:lo + 8])
    if fam in ("e", "et"):
        pfn = key[1]
        if len(key) == 3:
            index = key[2]

            def entry(m: Machine, mem: Memory, sd: dict[str, Any]) -> Any:
                table = mem.contents.get(pfn)
                return table.get(index) if table is not None else None
            return entry

        def whole(m: Machine, mem: Memory, sd: dict[str, Any]) -> int:
            table = mem.contents.get(pfn)
            return hash(frozenset(table.items())) if table else 0
        return whole
    if fam == "link":
        return lambda m, mem, sd: mem._contents_acc
    if fam == "rq":
        pfn = key[1]

        def answer(m: Machine, mem: Memory, sd: dict[str, Any]) -> Any:
            fp, mem.fp = mem.fp, None  # read raw: nothing recorded
            try:
                return m.tables.reachable().get(pfn)
            finally:
                mem.fp = fp
        return answer
    if fam == "st":
        name = key[1]
        return lambda m, mem, sd: sd[name]
    if fam == "r":
        pfn = key[1]
        return lambda m, mem, sd: sd["roles"].get(pfn)
    if fam == "c" and len(key) == 3:
        ck = key[1:]
        return lambda m, mem, sd: sd["iommu_cache"].get(ck)
    if fam in ("c", "cv"):
        return lambda m, mem, sd: m.st._dict_hash("iommu_cache")
    raise AssertionError(f"the step memo has no value for footprint key {key!r}")


def _in_range(d: dict[int, Any], a: int, b: int) -> tuple[Any, ...]:
    if not d:
        return ()
    if b - a == 1:
        v = d.get(a)
        return () if v is None else ((a, v),)
    return tuple(sorted((p, v) for p, v in d.items() if a <= p < b))


def _marks_in(marks: dict[tuple[int, int], Any], a: int, b: int) -> tuple[Any, ...]:
    if not marks:
        return ()
    return tuple(sorted((k, v) for k, v in marks.items() if a <= k[1] < b))


def replay(m: Machine, eff: Effect, fp: Footprint) -> tuple[Step, ...]:
    """Do what `eff` recorded on m (an equal state for every key the step read or wrote)."""
    mem = m.mem
    size = mem.size
    chunks, owned = mem._chunks, mem._owned
    dirty, touched = mem._dirty, mem.lru_touched
    for pfn, data in eff.pages:
        c = pfn >> CHUNK_SHIFT
        chunk = chunks[c] if owned[c] else mem._own_chunk(c)
        base = (pfn & CHUNK_MASK) * size
        chunk[base:base + size] = data
    if eff.touched:
        touched.update(eff.touched)
    if eff.written:
        dirty.update(eff.written)
    if eff.poisoned:
        dirty.update(touched.intersection(eff.poisoned))
    if eff.regions:
        for region, off, data in eff.regions:
            getattr(mem, region)[off:off + len(data)] = data
        mem.regions_hash = None
    if eff.shadow:
        shadow = mem.shadow
        z = mem._zkeys[0]
        for pfn, free in eff.shadow:
            if bool(shadow[pfn]) != bool(free):
                mem.shadow_hash ^= z[pfn]
            shadow[pfn] = free
    if eff.contents:
        contents = mem.contents
        for pfn, new, h in eff.contents:
            was = contents.pop(pfn, None)
            if was:
                mem._contents_acc ^= hash((pfn, frozenset(was.items())))
            if new:
                contents[pfn] = new
                mem._contents_acc ^= h
    if eff.walk_dirty:
        mem.walk_dirty.update(eff.walk_dirty)
    if eff.version:
        mem.version += 1
    st = m.st
    d = st.__dict__
    for name, value in eff.fields:
        d[name] = value
    for name, changes, whole in eff.dicts:
        if changes is None:
            st.adopt(name, dict(whole or {}))
            continue
        target = st.own(name)
        for k, v in changes:
            if v is None:
                target.pop(k, None)
            else:
                target[k] = v
    for pfn, span in eff.watched:
        if span is None:
            mem.watched.pop(pfn, None)
        else:
            mem.watched[pfn] = span
    if eff.walk_reads is not None:
        m._walk_reads = eff.walk_reads  # shared: replaced, never changed in place (Machine.after_step)
    if eff.events:
        m.emitted.extend(eff.events)
        m.all_events.extend(eff.events)
    mem.writer = eff.writer
    fp.merge(eff.foot)
    return eff.steps  # (World.step makes a tuple of it: this one, not copied)
