"""`flags --domain` tallies groups by count and computes each distinct layout once
(flags.report.summarise over kconfig.domain's product-form groups); the expected values
here come from the per-config path instead: every config of the domain enumerated one by
one (`Domain.configs()`, `model.make_unchecked`) and its word computed on its own
(`packing.compute`), which shares no grouping, index or layout key with the summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from mmbits.flags.packing import INPUT_SYMBOLS, compute, layout_of
from mmbits.flags.report import summarise
from mmbits.kconfig.domain import Domain, load_domain
from mmbits.kconfig.model import load_model


def _sub(name: str, archs: tuple[str, ...]) -> Domain:
    """The parts of a shipped domain for a few arches: small enough to enumerate."""
    dom = load_domain(name)
    return Domain(f"{name}:{'+'.join(archs)}", dom.doc, [p for p in dom.parts if p.arch in archs], [])


# releases x the small arches: several parts, a cross table (SECTION_SIZE_BITS reads VERSION
# and SPARSEMEM, in two components), flags appearing and going across 6.1-7.1
SAMPLES = [("lts", ("arm32", "i386")), ("everything", ("ppc32", "riscv32", "s390x")), ("6.1", ("arm32",))]


def _per_config(dom: Domain) -> dict[str, Any]:
    """The summary's totals, config by config."""
    out: dict[str, Any] = {"configs": 0, "free": Counter(), "gap": Counter(), "kernels": Counter(),
                           "arch": Counter(), "cannot": 0, "zero_free": 0, "zero_gap": 0, "cpupid_out": 0,
                           "miscount": 0, "shrunk": 0, "min_free": {}}
    for cfg in dom.configs():
        word = compute(cfg)
        out["configs"] += 1
        out["arch"][cfg.arch] += 1
        if not word.builds:
            out["cannot"] += 1
            continue
        free, gap = len(word.free_bits), word.true_gap_bits
        out["free"][free] += 1
        out["gap"][gap] += 1
        out["kernels"][cfg.kernel] += 1
        out["zero_free"] += free == 0
        out["zero_gap"] += gap == 0
        out["cpupid_out"] += not word.last_cpupid_in_flags
        out["miscount"] += word.nr_unused_kernel != gap and cfg.kernel >= 6012
        out["shrunk"] += word.widths["lru_refs"] < word.shifts["lru_refs"]
        out["min_free"][cfg.arch] = min(out["min_free"].get(cfg.arch, free), free)
    return out


@pytest.mark.parametrize(("name", "archs"), SAMPLES)
def test_grouped_summary_equals_the_per_config_one(name: str, archs: tuple[str, ...]) -> None:
    dom = _sub(name, archs)
    ref = _per_config(dom)
    s = summarise(dom)
    assert s.configs == ref["configs"] == dom.size()
    assert dict(s.histogram) == dict(ref["free"])
    assert dict(s.gap_histogram) == dict(ref["gap"])
    assert s.per_release == dict(ref["kernels"])
    assert {a: d["configs"] for a, d in s.per_arch.items()} == dict(ref["arch"])
    assert {a: d["min_free_bits"] for a, d in s.per_arch.items()} == ref["min_free"]
    assert s.min_free == min(ref["free"]) and s.min_gap == min(ref["gap"])
    assert (s.cannot_build.count, s.zero_free.count, s.zero_gap.count, s.cpupid_out.count, s.miscount.count,
            s.refs_shrunk.count) == (ref["cannot"], ref["zero_free"], ref["zero_gap"], ref["cpupid_out"],
                                     ref["miscount"], ref["shrunk"])
    assert s.groups == sum(1 for p in dom.parts for _ in p.groups(INPUT_SYMBOLS))


def test_examples_are_in_their_category_and_stand_for_their_group() -> None:
    """Each example is a valid config of the domain whose own word is in the category,
    and the configs it stands for are those sharing its input symbols."""
    dom = _sub(*SAMPLES[0])
    s = summarise(dom, keep=3)
    model = load_model()
    inputs = Counter(tuple(c.get(n, 0) for n in INPUT_SYMBOLS) for c in dom.configs())
    checks = {"zero_free": lambda w, k: len(w.free_bits) == 0, "zero_gap": lambda w, k: w.true_gap_bits == 0,
              "cpupid_out": lambda w, k: not w.last_cpupid_in_flags,
              "miscount": lambda w, k: w.nr_unused_kernel != w.true_gap_bits and k >= 6012,
              "refs_shrunk": lambda w, k: w.widths["lru_refs"] < w.shifts["lru_refs"]}
    seen = 0
    for category, holds in checks.items():
        tally = getattr(s, category)
        assert len(tally.examples) == min(3, tally.count) or tally.count > len(tally.examples) == 3
        for cfg, n in tally.examples:
            assert not model.violations(cfg)
            assert holds(compute(cfg), cfg.kernel), (category, cfg.describe())
            # a group is one assignment of the varied symbols behind the inputs: the configs
            # with the example's inputs are that group, or several groups with equal inputs
            assert 0 < n <= inputs[tuple(cfg.get(x, 0) for x in INPUT_SYMBOLS)]
            seen += 1
    assert seen


@pytest.mark.parametrize(("name", "archs"), SAMPLES[:2])
def test_configs_with_one_layout_key_have_one_layout(name: str, archs: tuple[str, ...]) -> None:
    """layout_of's key leaves out the release, which flags are present and their aliases:
    every word the summary reads through one key has the same bits, fields and errors."""
    first: dict[tuple[Any, ...], Any] = {}
    for cfg in _sub(name, archs).configs():
        word = compute(cfg)
        key, _ = layout_of(tuple(cfg.get(n, 0) for n in INPUT_SYMBOLS))
        seen = (word.bits, word.nr_pageflags, len(word.zones), word.fields, word.gap, word.errors, word.widths,
                word.shifts, word.nr_unused_kernel, word.last_cpupid_in_flags, word.node_in_flags)
        assert first.setdefault(key, seen) == seen, cfg.describe()
    assert len(first) > 1


def test_summary_is_the_same_cold_warm_and_without_the_index(private_cache: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from mmbits.kconfig.domain import DomainPart

    def fresh() -> Domain:
        dom = _sub("lts", ("arm32", "i386"))
        return Domain(dom.name, dom.doc, [DomainPart(p.name, p.arch, p.vary, p.sets, p.model) for p in dom.parts])

    def doc() -> dict[str, Any]:
        out = summarise(fresh()).to_json()
        del out["seconds"]
        return out

    cold = doc()
    warm = doc()
    monkeypatch.setenv("MMBITS_CACHE", "off")
    assert cold == warm == doc()
