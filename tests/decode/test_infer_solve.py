"""decode/infer.py's config solver on its fast path (candidates built by kconfig/fused.py,
their packed fields read without rendering %pGp, a struct page's coverage worked out once
per layout) infers exactly what the reference path infers (`KconfigModel.make`,
`printed_fields(render_inner(...))`, `Layout.covered` of every copy), for every report of
every fixture and every report of the bench log (bench/bench_decode_log.py: the real ones
but UML's, in name order, again and again, their pfn, page pointer and index varied, which
no inference key reads; a report naming no release or arch takes them from the report
before it, so the log's keys are not all the single files')."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from decode.dumps import DUMPS
from mmbits.decode import infer
from mmbits.decode.api import decode_text
from mmbits.decode.kernelfmt import render_inner, renderer
from mmbits.decode.solve import printed_fields
from mmbits.errors import InputError
from mmbits.kconfig.config import Config
from mmbits.kconfig.fused import FusedModel
from mmbits.layout.registry import layouts

Key = tuple[Any, ...]


def _keys(monkeypatch: pytest.MonkeyPatch) -> list[Key]:
    """What `_choose` solves for over the fixtures (the on-disk memo off, so each is solved)."""
    keys: dict[Key, None] = {}
    solve = infer._solve_choice

    def record(*key: Any) -> infer.ConfigChoice:
        keys[key] = None
        return solve(*key)

    with monkeypatch.context() as m:
        m.setattr(infer, "_solve_choice", record)
        m.setenv("MMBITS_CACHE", "off")
        infer._choose.cache_clear()
        for path in sorted(DUMPS.rglob("*.txt")):
            with contextlib.suppress(InputError):  # a fixture of the decoder's errors
                decode_text(path.read_text(encoding="utf-8"))
        decode_text(_bench_reports())
        infer._choose.cache_clear()
    return list(keys)


def _bench_reports() -> str:
    """The bench log's reports, twice round: each after the one it follows in the log."""
    bodies = ["\n".join(ln for ln in p.read_text(encoding="utf-8").splitlines() if not ln.startswith("#"))
              for p in sorted((DUMPS / "real").glob("*.txt")) if not p.name.startswith("um-")]
    return "\n\n".join(bodies + bodies) + "\n"


def _answer(choice: infer.ConfigChoice) -> tuple[Any, ...]:
    cfg = choice.config
    return (cfg.primary, dict(cfg.symbols), cfg.name, choice.how, choice.note, choice.presets, choice.alternatives)


def _solved(keys: list[Key]) -> list[tuple[Any, ...]]:
    infer._solve_config.cache_clear()
    try:
        return [_answer(infer._solve_choice(*key)) for key in keys]
    finally:
        infer._solve_config.cache_clear()


def _reference_fits(config: Config, size: int | None) -> bool:
    if size is None:
        return True
    layout = layouts().resolve("page", config)
    return layout.size == size and all(layout.covered)


def test_the_fast_solver_infers_what_the_reference_does(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = _keys(monkeypatch)
    assert len({k[5] for k in keys}) >= 8  # the fixtures' arches (and reports naming none)
    fast = _solved(keys)
    with monkeypatch.context() as m:
        m.setattr(FusedModel, "enabled", False)
        m.setattr(infer, "_printed", lambda value, word, data: printed_fields(render_inner(value, renderer(word, data))))
        m.setattr(infer, "fits", _reference_fits)
        reference = _solved(keys)
    assert [a[4] for a in fast] == [a[4] for a in reference]  # the notes first: the readable difference
    assert fast == reference
