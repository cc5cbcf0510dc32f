"""The public hypothesis strategies yield what they promise."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mmbits.errors import InputError
from mmbits.kconfig.model import load_model
from mmbits.layout.model import exclusive
from mmbits.proposal import STEPS, validate
from mmbits.strategies import configs, layouts, proposals, raw_pages


@given(configs())
def test_configs_are_valid(cfg) -> None:
    assert load_model().violations(cfg) == []


@given(configs(arch="i386"))
def test_configs_by_arch(cfg) -> None:
    assert cfg.arch == "i386" and cfg.bits == 32


def test_configs_shrink_to_simple() -> None:
    from hypothesis import find

    cfg = find(configs(domain="x86_64"), lambda c: True)
    part = next(p for p in __import__("mmbits.kconfig.domain", fromlist=["x"]).load_domain("x86_64").parts)
    first = {n: v[0] for n, v in part.vary}
    assert all(cfg[n] == v for n, v in first.items() if n not in ("KMSAN",))


@given(layouts("ptdesc"))
def test_layouts(layout) -> None:
    assert layout.struct == "ptdesc" and layout.size in (32, 36, 56, 64)


@given(layouts("ptdesc", mutate=True))
def test_mutated_layouts_are_still_c_layouts(layout) -> None:
    """Whatever the mutation, the resolver keeps C rules: no field overlaps another
    outside a union, sizes are multiples of the alignment."""
    assert layout.source.startswith("mutation of struct ptdesc")
    assert layout.size % layout.align == 0
    fields = [m for m in layout.root.walk() if m.kind == "field"]
    for i, a in enumerate(fields):
        for b in fields[i + 1:]:
            ar, br = a.bit_range(), b.bit_range()
            if ar[0] <= br[1] and br[0] <= ar[1]:
                assert exclusive(a, b), (a.name, b.name)


@given(proposals())
def test_proposals_validate(p) -> None:
    try:
        validate(p)
    except InputError as exc:  # only the struct-field syntax could fail, and never does
        raise AssertionError(str(exc)) from None
    for step in (p.set_at, p.test_at, p.clear_at):
        assert step is None or step in STEPS


@given(st.sampled_from(["pgtable", "anon", "slab", "tail", "buddy"]).flatmap(raw_pages))
def test_raw_pages_decode(arg) -> None:
    from mmbits.flags.packing import compute
    from mmbits.layout.registry import layouts as lset

    cfg, raw = arg
    page = lset().resolve("page", cfg)
    values = page.decode(raw)
    word = compute(cfg)
    zone = word.field("zone")
    assert (values["flags"] >> zone.lsb) & ((1 << zone.width) - 1) < len(word.zones)
