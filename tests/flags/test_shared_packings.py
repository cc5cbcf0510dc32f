"""Packings and their masks are shared between configs and releases that give the same
inputs (flags.packing: `_core`, the mask cache); sharing must never change a value."""

from __future__ import annotations

import pytest

from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import INPUT_SYMBOLS, _compute_masks, compute
from mmbits.kconfig.domain import load_domain


@pytest.mark.parametrize("name", ["more-arches", "6.1", "6.6", "6.12"])
def test_shared_masks_equal_masks_computed_afresh(name: str) -> None:
    data = load_flag_data()
    parts = [p for p in load_domain(name).parts if p.arch not in ("x86_64", "arm64")]  # the small ones
    for g in (g for p in parts for g in p.groups(INPUT_SYMBOLS)):
        for extra in (0, 2):
            word = compute(g.config, extra_flags=extra)
            assert word.kernel == g.config.kernel
            assert word.masks == _compute_masks(word, data), g.config.describe()
