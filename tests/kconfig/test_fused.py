"""kconfig/fused.py: `KconfigModel.build` (the generated completion and rules) gives what
`make` gives, on every arch, for valid and refused configs alike, and where an expression
raises it raises what `make` raises."""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import product
from pathlib import Path

import pytest

from mmbits.cexpr import ExprError, parse
from mmbits.errors import InvalidConfigError
from mmbits.kconfig.config import Config
from mmbits.kconfig.fused import FusedModel
from mmbits.kconfig.model import KconfigModel, Rule, load_model
from mmbits.kconfig.presets import preset, preset_names

# the symbols decode's solver varies (decode/infer.py _solve_config) and some every rule
# family reads: each combination on each arch, at the oldest, a middle and the newest release
_VARIED = {
    "HIGHMEM": (0, 1), "ZONE_DMA32": (0, 1), "ZONE_DEVICE": (0, 1), "MEMORY_HOTPLUG": (0, 1),
    "NUMA": (0, 1), "NR_CPUS": (1, 64, 8192), "KASAN_SW_TAGS": (0, 1), "KASAN_HW_TAGS": (0, 1),
    "SPARSEMEM_VMEMMAP": (0, 1), "MEMCG": (0, 1),
}


def _candidates() -> Iterator[dict[str, object]]:
    model = load_model()
    releases = (model.releases[0], model.releases[len(model.releases) // 2], model.releases[-1])
    for arch in model.archs:
        for version in releases:
            for values in product(*_VARIED.values()):
                cand: dict[str, object] = {"ARCH": arch, "VERSION": version, **dict(zip(_VARIED, values, strict=True))}
                cand["SMP"] = int(cand["NR_CPUS"] != 1)  # type: ignore[call-overload]
                cand["NODES_SHIFT"] = 3 if cand["NUMA"] else 0
                yield cand


def _reference(model: KconfigModel, values: dict[str, object]) -> Config | None:
    try:
        return model.make(values)  # type: ignore[arg-type]
    except InvalidConfigError:
        return None


def _same(built: Config | None, made: Config | None) -> bool:
    if built is None or made is None:
        return built is made
    return (dict(built.symbols) == dict(made.symbols) and list(built.symbols) == list(made.symbols)
            and built.primary == made.primary and built.name == made.name)


def _compare(candidates: list[dict[str, object]]) -> None:
    model = load_model()
    valid = refused = 0
    for values in candidates:
        built, made = model.build(values), _reference(model, values)  # type: ignore[arg-type]
        assert _same(built, made), values
        valid += made is not None
        refused += made is None
    assert valid and refused  # both answers were compared


def test_build_is_make_on_every_arch() -> None:
    """A fixed sample of the combinations (each arch's share of them)."""
    _compare(random.Random(13).sample(list(_candidates()), 3000))


@pytest.mark.slow
def test_build_is_make_on_every_combination() -> None:
    _compare(list(_candidates()))


@pytest.mark.parametrize("name", preset_names())
def test_build_is_make_for_every_preset(name: str) -> None:
    cfg = preset(name)
    model = load_model()
    assert _same(model.build(cfg.primary, name=name), model.make(cfg.primary, name=name))


def test_the_reference_way_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model()
    monkeypatch.setattr(FusedModel, "enabled", False)
    assert model.build({"ARCH": "x86_64", "HIGHMEM": 1}) is None
    assert _same(model.build({"ARCH": "arm64"}), model.make({"ARCH": "arm64"}))


def _model_with(derived: str, rule: str) -> KconfigModel:
    """The shipped model with one more derived symbol and one more rule."""
    base = load_model()
    return KconfigModel(base.version, Path(base.path), base.archs, base.symbols,
                        (*base.derived, ("EXTRA", parse(derived))),
                        (*base.rules, Rule(require=parse(rule), why="test")), base.releases)


def test_an_expression_that_raises_raises_as_make_does() -> None:
    model = _model_with("NR_CPUS / (NR_CPUS - NR_CPUS)", "1")  # division by zero on every config
    with pytest.raises(ExprError):
        model.make({"ARCH": "x86_64"})
    with pytest.raises(ExprError):
        model.build({"ARCH": "x86_64"})


def test_a_rule_on_a_derived_symbol_refuses_as_make_does() -> None:
    model = _model_with("NR_CPUS * 2", "EXTRA < 100")
    assert model.build({"ARCH": "x86_64", "NR_CPUS": 64}) is None
    with pytest.raises(InvalidConfigError):
        model.make({"ARCH": "x86_64", "NR_CPUS": 64})
    assert _same(model.build({"ARCH": "x86_64", "NR_CPUS": 8}), model.make({"ARCH": "x86_64", "NR_CPUS": 8}))
