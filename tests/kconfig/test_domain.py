"""Domains: grouping must count exactly what full enumeration counts."""

from __future__ import annotations

import itertools

import pytest

from mmbits.flags.packing import INPUT_SYMBOLS
from mmbits.kconfig.domain import load_domain
from mmbits.kconfig.model import load_model


def test_grouped_counts_equal_enumeration_arm32() -> None:
    dom = load_domain("arm32")
    model = load_model()
    everything = list(dom.configs())
    assert len(everything) == dom.size() == 3456
    assert all(not model.violations(c) for c in everything)
    assert len(set(everything)) == len(everything)
    for relevant in (INPUT_SYMBOLS, ("MEMCG",), ("ARM_MACH", "LRU_GEN"), ()):
        groups = list(dom.groups(relevant))
        assert sum(g.count for g in groups) == dom.size()


@pytest.mark.parametrize("name", ["default", "x86_64", "i386", "arm64"])
def test_group_counts_sum_to_size(name: str) -> None:
    dom = load_domain(name)
    assert sum(g.count for g in dom.groups(INPUT_SYMBOLS)) == dom.size()
    assert dom.size() < dom.raw_size()  # some combinations are rejected


def test_default_domain_has_every_arch() -> None:
    archs = {g.config.arch for g in load_domain("default").groups(("ARCH",))}
    assert archs == {"x86_64", "i386", "arm64", "arm32"}


def test_group_representatives_are_valid() -> None:
    model = load_model()
    for g in load_domain("default").groups(INPUT_SYMBOLS):
        assert not model.violations(g.config), g.config.describe()


@pytest.mark.parametrize("name", ["arm32", "i386", "more-arches"])
def test_group_configs_equal_the_model_built_ones(name: str) -> None:
    """Groups build their configs incrementally (only what the varied symbols move is
    recomputed): each must equal, symbol for symbol, the config the model builds from
    the same primaries, for a wide and a narrow grouping."""
    model = load_model()
    dom = load_domain(name)
    for relevant in (INPUT_SYMBOLS, ("ARCH",), ("NR_CPUS_BITS", "SPINLOCK_SIZE")):
        for g in dom.groups(relevant):
            ref = model.make_unchecked(g.config.primary)
            assert dict(g.config) == dict(ref), g.config.describe()
            assert g.config.primary == ref.primary
            assert g.config == ref and hash(g.config) == hash(ref)


@pytest.mark.parametrize("arch", ["arm32", "i386"])
def test_groups_over_releases_are_the_enumeration_grouped(arch: str) -> None:
    """Over several releases (VERSION in a component with the options it gates, a derived
    symbol reading two components): the groups are the valid configs enumerated one by one
    and grouped on the varied symbols behind the question, in the order each first
    appears, counted, and represented by that first config."""
    [part] = [p for p in load_domain("lts").parts if p.arch == arch]
    configs = list(part.configs())
    for relevant in (INPUT_SYMBOLS, ("SECTION_SIZE_BITS",), ()):
        owners = sorted(part._owners(relevant))
        counts: dict[tuple[object, ...], int] = {}
        firsts: dict[tuple[object, ...], dict[str, object]] = {}
        for cfg in configs:
            key = tuple(cfg.primary[n] for n in owners)
            counts[key] = counts.get(key, 0) + 1
            firsts.setdefault(key, dict(cfg))
        groups = list(part.groups(relevant))
        assert [tuple(g.config.primary[n] for n in owners) for g in groups] == list(counts)
        assert [g.count for g in groups] == list(counts.values())
        assert [dict(g.config) for g in groups] == list(firsts.values())


def test_valid_configs_over_releases_are_the_brute_force_ones() -> None:
    """The component enumeration (members one at a time, VERSION first, rules pruning as
    soon as what they read is assigned, then the product's order) keeps exactly the raw
    combinations the model accepts; each component's in the order of its members' product."""
    [part] = [p for p in load_domain("lts").parts if p.arch == "arm32"]
    model = load_model()
    names = part.var_names
    expected = []
    for combo in itertools.product(*(values for _, values in part.vary)):
        cfg = model.make_unchecked(part.primary(dict(zip(names, combo, strict=True))))
        if not model.violations(cfg):
            expected.append(dict(cfg))
    assert len(expected) < part.raw_size()
    got = [dict(c) for c in part.configs()]
    key = sorted  # configs as comparable item lists: the parts enumerate components, not the raw product
    assert sorted(map(key, (c.items() for c in got))) == sorted(map(key, (c.items() for c in expected)))
    vary = dict(part.vary)
    for comp in part.components():
        order = [tuple(vary[m].index(a[m]) for m in comp.members) for a in comp.valid()]
        assert order == sorted(order) and len(set(order)) == len(order), comp.members
