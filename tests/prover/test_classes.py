"""The domain proof analyses one group per class (prover.classes): the classes must change
no answer. Each check here is run twice, once with the partition and once with every group
its own class (the plain pass over the groups), and the JSON answers must be equal; and a
group picked from inside a class, analysed on its own by a fresh prover, must give its
class representative's findings."""

from __future__ import annotations

from typing import Any

import pytest

from mmbits import intarrays
from mmbits.cachedir import decode_entry, encode_entry
from mmbits.flags.packing import INPUT_SYMBOLS
from mmbits.kconfig.domain import Domain, load_domain
from mmbits.proposal import Proposal
from mmbits.prover import check, classes, engine
from mmbits.prover.analyse import prepare, relevant_symbols

from .helpers import config_of

# the gap, a packed field, a live flag, the top bit, new flags (no sharing with page
# sizes read), a second-page word, a pointer word, a page_type word, a memdesc word
QUESTIONS: list[tuple[str, str, str | None, tuple[str, ...]]] = [
    ("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable", ()),
    ("BIT(NR_PAGEFLAGS-1)|BIT(40)|BIT(60)", "page.flags", None, ()),
    ("BIT(PG_locked)", "page.flags", None, ()),
    ("PG_locked", "ptdesc.pt_flags", "pgtable", ()),  # caught at free only with DEBUG_VM
    ("1UL << (BITS_PER_LONG-1)", "page.flags", None, ()),
    ("BIT(PG_new1)", "page.flags", None, ("PG_new1",)),
    ("PG_uptodate", "folio._flags_1", None, ()),
    ("BIT(2)", "page.mapping", None, ()),
    ("BIT(0)", "ptdesc.__page_type", "kernel-pgtable", ()),
    ("4", "page_memdesc.memdesc", None, ()),
]


def _answer(expr: str, word: str, kind: str | None, new: tuple[str, ...], domain: str | Domain) -> dict[str, Any]:
    engine._GROUPS.clear()
    dom = load_domain(domain) if isinstance(domain, str) else domain
    r = check(Proposal(expr, word, kind), domain=dom, lifecycle=False, new_flags=new)
    out = r.to_json()
    out.pop("elapsed_seconds", None)
    return out


def _toggles() -> Domain:
    """One packing, the symbols the flags role reads beside it toggled: each its own config
    (no shipped domain varies DEBUG_VM; a Domain of fixed configs is grouped config by config)."""
    sets: list[dict[str, Any]] = [{}, {"DEBUG_VM": 1}, {"MEM_ALLOC_PROFILING": 1},
                                  {"MEM_ALLOC_PROFILING": 1, "DEBUG_VM": 1}, {"DEBUG_VM": 0}, {}]
    return Domain("toggles", "", [], [config_of("x86_64-6.18", **s) for s in sets])


@pytest.mark.parametrize("domain", ["arm32", "toggles"])
@pytest.mark.parametrize(("expr", "word", "kind", "new"), QUESTIONS)
def test_the_classes_change_no_answer(monkeypatch: pytest.MonkeyPatch, expr: str, word: str, kind: str | None,
                                      new: tuple[str, ...], domain: str) -> None:
    dom = _toggles() if domain == "toggles" else domain
    shared = _answer(expr, word, kind, new, dom)
    with monkeypatch.context() as m:
        m.setattr(classes, "units", lambda prover, groups, memo, origin=None:
                  [classes._single(groups, i, g) for i, g in enumerate(groups)])
        alone = _answer(expr, word, kind, new, dom)
    assert shared == alone


@pytest.mark.parametrize(("expr", "word", "kind", "new"), QUESTIONS[:7])
def test_a_member_of_a_class_answers_as_its_representative(expr: str, word: str, kind: str | None,
                                                           new: tuple[str, ...]) -> None:
    dom = load_domain("arm32")
    prover = prepare(Proposal(expr, word, kind), None, new)
    groups, memo = engine.cached_groups(dom, relevant_symbols(prover, dom) | {"VERSION"})
    prover.config_memo = memo
    units = classes.units(prover, groups, memo)
    assert len(units) < len(groups)  # the classes do share
    shared = [u for u in units if u.groups > 1]
    assert shared
    for unit in shared[:8]:
        last_i, last = classes.members(prover, groups, unit)[-1]
        assert last_i > unit.first
        rep_hits, rep_ev, rep_site = prover.analyse(unit.config)
        # a fresh prover, no memo, nothing cached: the member on its own
        alone = prepare(Proposal(expr, word, kind), None, new)
        hits, ev, site = alone.analyse(last.config)
        assert [(h.kind, h.key, h.message) for h in hits] == [(h.kind, h.key, h.message) for h in rep_hits]
        assert (ev.value, site) == (rep_ev.value, rep_site)


def test_classes_need_the_group_lists_memo() -> None:
    # class keys are object ids: without the memo that keeps the objects alive, no sharing
    prover = prepare(Proposal("BIT(NR_PAGEFLAGS)", "page.flags"))
    dom = load_domain("arm32")
    groups = list(dom.groups(relevant_symbols(prover, dom)))
    assert prover.class_key(groups[0].config) is None
    assert [u.first for u in classes.units(prover, groups, None)] == list(range(len(groups)))


# -- the partition kept on disk ------------------------------------------------------------

@pytest.fixture
def cache(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MMBITS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("MMBITS_CACHE", raising=False)
    engine._GROUPS.clear()
    yield tmp_path / "classes"
    engine._GROUPS.clear()


def _partitions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the passes over the groups (a partition made, not read back): the long way
    or derived from the packing classes."""
    made: list[int] = []
    real, derived = classes._partition, classes._from_packings

    def spy(prover: Any, groups: Any) -> Any:
        made.append(len(groups))
        return real(prover, groups)

    def spy_derived(prover: Any, groups: Any, *rest: Any) -> Any:
        out = derived(prover, groups, *rest)
        if out is not None:
            made.append(len(groups))
        return out

    monkeypatch.setattr(classes, "_partition", spy)
    monkeypatch.setattr(classes, "_from_packings", spy_derived)
    return made


def test_a_kept_partition_is_read_back_and_answers_alike(cache: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _partitions(monkeypatch)
    first = _answer("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable", (), "arm32")
    assert made and len(list(cache.iterdir())) == 1
    made.clear()
    again = _answer("BIT(NR_PAGEFLAGS+1)", "ptdesc.pt_flags", "kernel-pgtable", (), "arm32")
    assert not made  # read back: no pass over the groups
    made.clear()
    with monkeypatch.context() as m:
        m.setenv("MMBITS_CACHE", "off")
        fresh = _answer("BIT(NR_PAGEFLAGS+1)", "ptdesc.pt_flags", "kernel-pgtable", (), "arm32")
    assert made and fresh == again and first["groups"] == again["groups"]


@pytest.mark.parametrize("damage", ["foreign", "groups", "count", "release", "not data", "digest", "site", "row", "profile"])
def test_a_kept_partition_that_is_not_these_groups_is_rebuilt(cache: Any, monkeypatch: pytest.MonkeyPatch,
                                                              damage: str) -> None:
    made = _partitions(monkeypatch)
    truth = _answer("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable", (), "arm32")
    (entry,) = cache.iterdir()
    raw = entry.read_bytes()
    doc = decode_entry(raw)
    units = doc["body"]["units"]
    if damage == "foreign":  # another question's entry under this name: bound to its own key
        doc["key"] = "0" * 64
    elif damage == "groups":
        doc["body"]["groups"] += 1
    elif damage == "count":
        counts = intarrays.unpack(units["count"])
        counts[0] += 1
        units["count"] = intarrays.pack(counts)
    elif damage == "release":
        sets = units["release_sets"]
        first = intarrays.unpack(units["releases"])[0]
        sets[first] = [v + 1 if i % 2 == 0 else v for i, v in enumerate(sets[first])][:2] + [1, 1]
    else:  # the class table: an index out of range, a half too short for its site, a class short
        table = doc["body"]["table"]
        cols = {c: list(intarrays.unpack(col)) for c, col in table["columns"].items()}
        at = next(i for i, si in enumerate(cols["site"]) if si != -1)
        if damage == "site":
            cols["site"][at] = len(table["sites"])
        elif damage == "row":
            highs = list(map(list, intarrays.unpack_rows(table["highs"])))
            del highs[cols["high"][at]][1:]
            table["highs"] = intarrays.pack_rows(highs)
        else:
            cols["tail"].pop()
        table["columns"] = {c: intarrays.pack(col) for c, col in cols.items()}
    # "digest": a byte of the payload changed, so it is not what was written with its digest
    entry.write_bytes(b"{" if damage == "not data" else raw[:-1] + bytes([raw[-1] ^ 1]) if damage == "digest"
                      else encode_entry(doc))
    made.clear()
    again = _answer("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable", (), "arm32")
    assert made, damage  # rebuilt
    assert again == truth


def test_the_lazy_group_list_is_the_domains_groups() -> None:
    from mmbits.prover.grouplist import GroupList

    dom = load_domain("arm32")
    relevant = set(INPUT_SYMBOLS)
    lazy = GroupList(dom, relevant)
    eager = list(dom.groups(relevant))
    assert len(lazy) == len(eager) > 1 and lazy.total() == sum(g.count for g in eager)
    assert lazy[-1].config.primary == eager[-1].config.primary  # built on demand, in the same order
    assert lazy[-1] is lazy[len(lazy) - 1]  # and kept: config ids stay theirs for the memo
    assert [(g.count, g.part, g.config.primary) for g in lazy] == [(g.count, g.part, g.config.primary) for g in eager]


def test_a_new_question_analyses_one_class_per_answer_key(cache: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # the class table (classes.BitTable) read back from disk: a new question evaluates the
    # expression per flag shape and analyses one class per distinct key, not every class,
    # and answers as the plain pass over the groups does
    from mmbits.prover.analyse import Prover

    _answer("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable", (), "arm32")
    analysed: list[int] = []
    real, real_facts = Prover.analyse, Prover.analyse_facts

    def spy(self: Prover, config: Any, *shared: Any) -> Any:
        analysed.append(1)
        return real(self, config, *shared)

    def spy_facts(self: Prover, *kept: Any) -> Any:  # a class analysed from its kept facts (prover.classfacts)
        analysed.append(1)
        return real_facts(self, *kept)

    monkeypatch.setattr(Prover, "analyse", spy)
    monkeypatch.setattr(Prover, "analyse_facts", spy_facts)
    for expr in ("BIT(NR_PAGEFLAGS+3)", "BIT(PG_locked)|BIT(NR_PAGEFLAGS-1)", "1UL << (BITS_PER_LONG-1)"):
        analysed.clear()
        shared = _answer(expr, "ptdesc.pt_flags", None, (), "arm32")
        assert 0 < len(analysed) < shared["groups"]
        with monkeypatch.context() as m:
            m.setattr(classes, "units", lambda prover, groups, memo, origin=None:
                      [classes._single(groups, i, g) for i, g in enumerate(groups)])
            alone = _answer(expr, "ptdesc.pt_flags", None, (), "arm32")
        assert shared == alone, expr


@pytest.mark.parametrize("domain", ["arm32", "lts"])
def test_the_product_form_is_the_expanded_groups(domain: str) -> None:
    # DomainPart.product computes group j from its factors (and the cross table of the
    # symbols that read several of them) without expanding: the same counts and rows
    from mmbits.kconfig.domain import DomainPart

    dom = load_domain(domain)
    relevant = set(INPUT_SYMBOLS) | {"VERSION", "ARCH_USES_PG_ARCH_2"}
    for part in dom.parts:
        assert isinstance(part, DomainPart)
        if len(part.product(relevant)) > 5000:
            continue  # the big x86_64 and arm64 parts: the small ones have cross tables of 2 and 3 factors
        _, counts, rows = part._rows(relevant)
        table = part.product(relevant)
        assert len(table) == len(rows) > 1 and table.total() == sum(counts)
        assert [table.count(j) for j in range(len(table))] == counts
        assert [table.row(j) for j in range(len(table))] == rows


def test_answer_keys_that_cannot_be_made_leave_every_class_to_its_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    # fail closed: a failure while making the keys is no verdict; each class is analysed itself
    from mmbits.prover import bittable

    truth = _answer("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable", (), "arm32")

    def broken(*_: Any) -> Any:
        raise RuntimeError("broken table")

    monkeypatch.setattr(bittable, "answer_keys", broken)
    assert _answer("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable", (), "arm32") == truth


@pytest.mark.slow
@pytest.mark.parametrize(("expr", "word", "kind"), [
    ("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", None),  # absent before 6.6: UNKNOWN there
    ("BIT(PG_slab)", "page.flags", None),  # a flag some releases lack
    ("PG_owner_2", "folio._flags_1", "second"),
    ("BIT(NR_PAGEFLAGS+20)", "page.flags", None),
])
def test_the_class_table_changes_no_answer_over_releases(expr: str, word: str, kind: str | None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # the class table over four releases and four arches against the plain pass over the groups
    shared = _answer(expr, word, kind, (), "lts")
    with monkeypatch.context() as m:
        m.setattr(classes, "units", lambda prover, groups, memo, origin=None:
                  [classes._single(groups, i, g) for i, g in enumerate(groups)])
        alone = _answer(expr, word, kind, (), "lts")
    assert shared == alone


def test_one_bits_input_is_the_ranges_input_for_that_bit() -> None:
    # rules.bit_input (a new question's one or two bits) against rules.bit_inputs (the class
    # table's rows) on every bit of the default domain's first packings
    from mmbits.flags.packing import compute
    from mmbits.prover import rules

    dom = load_domain("default")
    groups = list(dom.groups(set(INPUT_SYMBOLS)))
    for g in groups[::max(1, len(groups) // 60)]:  # every arch, 32- and 64-bit, sparse and flat memory
        word = compute(g.config)
        assert [rules.bit_input(word, ab) for ab in range(word.bits)] == rules.bit_inputs(word, 0, word.bits)


def test_run_lists_are_checked_as_each_row_alone_would_be() -> None:
    # bittable.check_runs checks every row in one pass: the same verdict as each row's own
    # ends (its start, then every other item) rising, on real rows and on damaged ones
    from itertools import pairwise

    from mmbits.prover import bittable

    dom = load_domain("arm32")
    prover = prepare(Proposal("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable"), None, (), None)
    groups, memo = engine.cached_groups(dom, relevant_symbols(prover, dom) | {"VERSION"})
    highs = [list(r) for r in classes.units(prover, groups, memo).table.highs]  # type: ignore[union-attr]

    def alone(rows: list[list[int]]) -> bool:
        return all(len(r) % 2 == 1 and all(a < b for a, b in pairwise([r[0], *r[1::2]])) for r in rows)

    def together(rows: list[list[int]]) -> bool:
        try:
            bittable.check_runs(rows)
        except ValueError:
            return False
        return True

    assert len(highs) > 1 and alone(highs) and together(highs)
    for i, row in enumerate(highs):
        for damaged in (row[:-1], [row[0] + 100, *row[1:]], [*row, row[-2], 0]):
            rows = highs[:i] + [damaged] + highs[i + 1:]
            assert together(rows) == alone(rows), (i, damaged)


def test_a_failed_analysis_leaves_the_next_class_of_its_key_to_its_own(cache: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # fail closed: when the analysis of a key's first class fails, that class is unknown and the
    # key's next class is analysed itself (the rest of the key then shares its answer)
    from mmbits.prover.analyse import Prover

    question = ("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable", (), "arm32")
    truth = _answer(*question)
    dom = load_domain("arm32")
    prover = prepare(Proposal(*question[:3]), None, (), None)
    relevant = relevant_symbols(prover, dom) | {"VERSION"}
    groups, memo = engine.cached_groups(dom, relevant)
    prover.config_memo = memo
    keys = classes.answer_keys(prover, classes.units(prover, groups, memo, (dom, relevant)))
    assert keys is not None
    # keys hold the id of the expression's value, which each check makes anew: compared without it
    ours = [k[1:] for k in keys if k is not None]
    shared = next(k for k in ours if ours.count(k) > 1)
    calls: list[Any] = []
    real = Prover.analyse_facts

    def flaky(self: Prover, *kept: Any) -> Any:
        calls.append(kept[-1][1:])  # the answer key
        if calls.count(shared) == 1 and calls[-1] == shared:
            raise RuntimeError("flaky")
        return real(self, *kept)

    monkeypatch.setattr(Prover, "analyse_facts", flaky)
    got = _answer(*question)
    assert any(f["kind"] == "unknown" and "static analysis failed" in f["message"] for f in got["findings"])
    assert got["configs_checked"] == truth["configs_checked"] and got["groups"] == truth["groups"]
    assert calls.count(shared) == 2  # the key's next class analysed itself, the rest sharing its answer
    assert len(calls) == len(set(ours)) + 1
