"""A class analysed from what its class table keeps (prover.classfacts: no config, no
packing built) is analysed as from its representative's config: the kept facts are the
representative's own packing, symbols and site, each analysis gives the same hits,
value and site as `Prover.analyse(config)`, and the proof's answers are those of the
config path, on real domains, with the table made either way and read back from disk; a
kept fact that is not a packing's sends its class to the config path."""

from __future__ import annotations

from typing import Any

import pytest

from mmbits.cachedir import decode_entry, encode_entry
from mmbits.proposal import Proposal
from mmbits.prover import bittable, classes
from mmbits.prover.analyse import prepare
from mmbits.prover.classfacts import HIGH_MASKS, LOW_MASKS

from .test_classes import _answer, cache  # noqa: F401  (cache: a private cache directory, the partitions' dir)
from .test_packclasses import _grouping

# the gap, a packed field, live flags, the top bit, a second-page word, a flag name
QUESTIONS = [
    ("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags", "kernel-pgtable"),
    ("BIT(NR_PAGEFLAGS+5)", "ptdesc.pt_flags", "kernel-pgtable"),
    ("BIT(PG_locked)|BIT(40)|BIT(NR_PAGEFLAGS+1)", "page.flags", None),
    ("PG_locked", "ptdesc.pt_flags", "pgtable"),
    ("1UL << (BITS_PER_LONG-1)", "page.flags", None),
    ("PG_uptodate", "folio._flags_1", None),
    ("PG_owner_priv_1", "ptdesc.pt_flags", "kernel-pgtable"),
]


def _tables(expr: str, word: str, kind: str | None, domain: str) -> tuple[Any, ...]:
    """The prover and the word's partition made both ways: derived from the packing classes and the long way."""
    prover, groups, memo, origin = _grouping(expr, word, kind, domain)
    return prover, classes._from_packings(prover, groups, memo, origin), classes._partition(prover, groups)


def _hits(hits: list[Any]) -> list[tuple[Any, ...]]:
    return [(h.kind, h.key, h.message, h.where, h.severity, h.what, h.data) for h in hits]


@pytest.mark.parametrize("domain", ["arm32", pytest.param("default", marks=pytest.mark.slow)])
@pytest.mark.parametrize(("expr", "word", "kind"), QUESTIONS)
def test_a_class_analysed_from_its_kept_facts_is_analysed_as_from_its_config(
        monkeypatch: pytest.MonkeyPatch, expr: str, word: str, kind: str | None, domain: str) -> None:
    monkeypatch.setenv("MMBITS_CACHE", "off")
    prover, derived, made = _tables(expr, word, kind, domain)
    for units in (derived, made):
        assert units is not None and units.table is not None
        keys = classes.answer_keys(prover, units)
        assert keys is not None
        reference = prepare(Proposal(expr, word, kind))  # nothing cached, no memo: the config path itself
        profiled = 0
        for n, unit in enumerate(units):
            kept = keys.inputs(n)
            if kept is None:
                continue
            profiled += 1
            facts, env, site, ev = kept
            cfg = unit.config
            packing = prover.flags_word(cfg, 0)
            assert (facts.bits, facts.nr_pageflags, facts.gap, facts.nr_unused_kernel, facts.alloc_tag_note) == \
                (packing.bits, packing.nr_pageflags, packing.gap, packing.nr_unused_kernel, packing.alloc_tag_note)
            assert facts.flags == tuple(packing.flags) and facts.fields == packing.fields
            assert facts.true_gap_bits == packing.true_gap_bits
            assert facts.masks == {m: packing.masks.get(m, 0) for m in LOW_MASKS + HIGH_MASKS}
            assert env == {s: bool(cfg.get(s)) for s in ("MEM_ALLOC_PROFILING", "MEM_PROFILING_COMPRESSED",
                                                         "CHECK_PAGES")}
            assert site == prover.site(cfg)
            hits, value, at = prover.analyse_facts(facts, env, site, ev, keys[n])
            want_hits, want_value, want_site = reference.analyse(cfg)
            assert _hits(hits) == _hits(want_hits), (n, expr)
            assert (value.value, value.problems, value.shifts, at) == \
                (want_value.value, want_value.problems, want_value.shifts, want_site)
        assert profiled > len(units) // 2  # page->flags words: nearly every class has its facts kept


def _config_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bittable.AnswerKeys, "inputs", lambda self, i: None)


@pytest.mark.usefixtures("cache")
@pytest.mark.parametrize("domain", ["arm32", pytest.param("lts", marks=pytest.mark.slow)])
def test_the_kept_facts_change_no_answer(monkeypatch: pytest.MonkeyPatch, domain: str) -> None:
    # the first question makes the table, the next ones read it back from disk (no memo in between)
    for expr, word, kind in QUESTIONS:
        for asked in (expr, "BIT(NR_PAGEFLAGS+2)"):
            kept = _answer(asked, word, kind, (), domain)
            with monkeypatch.context() as m:
                _config_path(m)
                assert _answer(asked, word, kind, (), domain) == kept, (asked, word)


@pytest.mark.usefixtures("cache")
@pytest.mark.parametrize("damage", ["none", "shape", "field", "tail", "site"])
def test_a_kept_fact_that_is_not_a_packings_sends_its_class_to_its_config(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                                                         damage: str) -> None:
    from mmbits.prover.analyse import Prover

    truth = _answer("BIT(NR_PAGEFLAGS+1)", "ptdesc.pt_flags", "kernel-pgtable", (), "arm32")
    (entry,) = (tmp_path / "classes").iterdir()
    doc = decode_entry(entry.read_bytes())
    facts = doc["body"]["table"]["facts"]
    if damage == "shape":
        facts["shapes"][0][1] = ["not a flag"]
    elif damage == "field":
        facts["field_lists"][0][0] = 1
    elif damage == "tail":
        facts["tails"][0][3] = None
    elif damage == "site":
        facts["sites"][0][3] = "64"
    entry.write_bytes(encode_entry(doc))
    from_config: list[int] = []
    real = Prover.analyse

    def spy(self: Prover, config: Any, *shared: Any) -> Any:
        from_config.append(1)
        return real(self, config, *shared)

    monkeypatch.setattr(Prover, "analyse", spy)
    assert _answer("BIT(NR_PAGEFLAGS+1)", "ptdesc.pt_flags", "kernel-pgtable", (), "arm32") == truth
    assert bool(from_config) == (damage != "none")  # the damaged classes went the config way
