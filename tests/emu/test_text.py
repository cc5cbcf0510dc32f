"""The text report of a simulation."""

from __future__ import annotations

from mmbits.emu.simulate import simulate
from mmbits.emu.text import render

from .helpers import sva


def test_render_primary_and_consequences() -> None:
    result = simulate(sva(), "pmd-ptdesc", cpus=1, ops=1, only=("huge-pmd",))
    text = render(result)
    assert text.startswith("mmbits simulate: pmd-ptdesc:")
    assert text.count("\nERROR:") == 1  # the root cause in full ...
    assert "more finding(s)" in text and "  ERROR:leak:" in text  # ... what followed, one line each
    assert "schedule (" in text and "raw: " in text and "page: refcount:" in text
    assert text.rstrip().endswith(f"verdict: UNSAFE ({len(result['findings'])} findings)")
    full = render(result, full=True)
    assert full.count("\nERROR:") == len(result["findings"])


def test_render_safe_brief() -> None:
    text = render(simulate(sva(), "v6.19+fixes", cpus=1, ops=1), verbose=False)
    assert text.rstrip().endswith("verdict: SAFE")
