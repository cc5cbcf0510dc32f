"""A word's class partition derived from the word-independent packing classes
(prover.packclasses) is the partition the long way makes (prover.classes._partition):
the same classes in the same order, the same counts per release, and a class table that
groups the classes into the same answers. The packing classes kept on disk are read
back for the next word, and an entry that is not theirs is computed again: never a
wrong answer, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest

from mmbits.cachedir import decode_entry, encode_entry
from mmbits.kconfig.domain import load_domain
from mmbits.proposal import Proposal
from mmbits.prover import bittable, check, classes, engine, packclasses
from mmbits.prover.analyse import prepare, relevant_symbols

WORDS = [
    ("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable"),
    ("BIT(PG_locked)|BIT(40)", "page.flags", None),
    ("PG_uptodate", "folio._flags_1", None),  # its site reads a packing-decided symbol
    ("1UL << (BITS_PER_LONG-1)", "folio.flags", None),
    ("BIT(0)", "ptdesc.__page_type", "kernel-pgtable"),  # a page_type word: no class table, keys of its shape
]


def _grouping(expr: str, word: str, kind: str | None, domain: str) -> tuple[Any, ...]:
    engine._GROUPS.clear()
    dom = load_domain(domain)
    prover = prepare(Proposal(expr, word, kind))
    relevant = relevant_symbols(prover, dom) | {"VERSION"}
    groups, memo = engine.cached_groups(dom, relevant)
    prover.config_memo = memo
    return prover, groups, memo, (dom, relevant)


def _same_answers(keys: list[Any]) -> list[int]:
    """The answer keys as a partition of the classes (numbers differ between tables)."""
    seen: dict[Any, int] = {}
    return [seen.setdefault(k if k is not None else ("alone", i), len(seen)) for i, k in enumerate(keys)]


@pytest.fixture
def cache(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MMBITS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("MMBITS_CACHE", raising=False)
    engine._GROUPS.clear()
    yield tmp_path / packclasses.SUB
    engine._GROUPS.clear()


# lts: ptdesc is absent before 6.6 (an absent word's key is its flag shape and site)
@pytest.mark.parametrize("domain", ["arm32", pytest.param("default", marks=pytest.mark.slow),
                                    pytest.param("lts", marks=pytest.mark.slow)])
@pytest.mark.parametrize(("expr", "word", "kind"), WORDS)
def test_the_derived_partition_is_the_long_ways(monkeypatch: pytest.MonkeyPatch, expr: str, word: str,
                                                kind: str | None, domain: str) -> None:
    monkeypatch.setenv("MMBITS_CACHE", "off")
    prover, groups, memo, origin = _grouping(expr, word, kind, domain)
    derived = classes._from_packings(prover, groups, memo, origin)
    assert derived is not None and derived.table is not None
    flags_word = word != "ptdesc.__page_type"
    assert any(si != -1 for si in derived.table.columns["site"]) == flags_word
    made = classes._partition(prover, groups)
    assert len(made) < len(groups) or not flags_word  # the classes do share
    assert [(u.first, u.count, u.groups, u.by_release) for u in derived] == \
        [(u.first, u.count, u.groups, u.by_release) for u in made]
    for question in (expr, "BIT(NR_PAGEFLAGS+3)", "BIT(PG_locked)|BIT(NR_PAGEFLAGS-1)", "BIT(3)"):
        asked = prepare(Proposal(question, word, kind))
        asked.config_memo = memo
        got, want = bittable.answer_keys(asked, derived, derived.table), bittable.answer_keys(asked, made, made.table)
        assert (got is None) == (want is None)
        if got is not None and want is not None:
            assert _same_answers(got) == _same_answers(want), question


@pytest.mark.parametrize(("expr", "word", "kind"), [
    ("BIT(2)", "page.mapping", None),  # a pointer word: its class key reads the pointer's symbols
    ("4", "page_memdesc.memdesc", None),  # a memdesc word: no sharing at all
    ("BIT(PG_new1)", "page.flags", None),  # new flags: the rules read both packings whole
])
def test_other_questions_take_the_long_way(monkeypatch: pytest.MonkeyPatch, expr: str, word: str,
                                           kind: str | None) -> None:
    monkeypatch.setenv("MMBITS_CACHE", "off")
    new = ("PG_new1",) if "PG_new1" in expr else ()
    engine._GROUPS.clear()
    dom = load_domain("arm32")
    prover = prepare(Proposal(expr, word, kind), None, new)
    relevant = relevant_symbols(prover, dom) | {"VERSION"}
    groups, memo = engine.cached_groups(dom, relevant)
    prover.config_memo = memo
    assert classes._from_packings(prover, groups, memo, (dom, relevant)) is None


def _answer(expr: str, word: str, kind: str | None) -> dict[str, Any]:
    engine._GROUPS.clear()
    out = check(Proposal(expr, word, kind), domain=load_domain("arm32"), lifecycle=False).to_json()
    out.pop("elapsed_seconds", None)
    return out


def _computed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the packing classes computed (not read back)."""
    made: list[int] = []
    real = packclasses._compute

    def spy(groups: Any) -> Any:
        made.append(len(groups))
        return real(groups)

    monkeypatch.setattr(packclasses, "_compute", spy)
    return made


def test_kept_packing_classes_serve_the_next_word(cache: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _computed(monkeypatch)
    _answer("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable")
    assert made and len(list(cache.iterdir())) == 1
    made.clear()
    kept = _answer("BIT(NR_PAGEFLAGS+1)", "page.flags", None)
    assert not made  # another word, the same grouping: read back
    with monkeypatch.context() as m:
        m.setenv("MMBITS_CACHE", "off")
        fresh = _answer("BIT(NR_PAGEFLAGS+1)", "page.flags", None)
    assert made and fresh == kept


@pytest.mark.parametrize("damage", ["foreign", "not data", "digest", "short", "order", "index", "runs", "types", "packed"])
def test_packing_classes_that_do_not_fit_are_computed_again(cache: Any, monkeypatch: pytest.MonkeyPatch,
                                                            damage: str) -> None:
    made = _computed(monkeypatch)
    _answer("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable")
    with monkeypatch.context() as m:
        m.setenv("MMBITS_CACHE", "off")
        truth = _answer("BIT(NR_PAGEFLAGS+2)", "page.flags", None)
    (entry,) = cache.iterdir()
    raw = entry.read_bytes()
    doc = decode_entry(raw)
    body = doc["body"]
    if damage == "foreign":  # another grouping's entry under this name: bound to its own key
        doc["key"] = "0" * 64
    elif damage == "short":
        body["of"].pop()
    elif damage == "order":  # classes not numbered in the order of their first group
        second = body["first"][1]
        body["of"][0], body["of"][second] = body["of"][second], body["of"][0]
    elif damage == "index":
        body["columns"]["high"][0] = len(body["table"]["highs"])
    elif damage == "runs":
        body["table"]["highs"][0] = [5, 3, 0]
    elif damage == "types":
        body["columns"]["low"][0] = "0"
    else:
        body["packed"].pop()
    # "digest": a byte of the payload changed, so it is not what was written with its digest
    entry.write_bytes(b"{" if damage == "not data" else raw[:-1] + bytes([raw[-1] ^ 1]) if damage == "digest"
                      else encode_entry(doc))
    made.clear()
    again = _answer("BIT(NR_PAGEFLAGS+2)", "page.flags", None)
    assert made, damage  # computed again
    assert again == truth


def test_a_pointer_word_makes_no_packing_classes(cache: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # the long way serves it: the word-independent classes of its grouping are not made for nothing
    made = _computed(monkeypatch)
    _answer("BIT(2)", "page.mapping", None)
    assert not made and not cache.exists()
