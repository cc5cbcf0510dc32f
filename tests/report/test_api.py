"""The report writers other commands call: check and simulate results of the
issue 4/5 JSON shapes (extra keys included), formats, atomic writes."""

from __future__ import annotations

import copy
import re

import pytest

from mmbits.errors import InputError
from mmbits.report import api
from mmbits.report.check_report import bits_of
from mmbits.report.sim_report import normalise_step
from report.results import CHECK_SAFE, CHECK_UNSAFE, SIM_SAFE, SIM_UNSAFE


def test_check_report_html(tmp_path):
    (path,) = api.write_check_report(copy.deepcopy(CHECK_UNSAFE), str(tmp_path), "html")
    html = path.read_text()
    assert path.name == "check-ASYNC_PGTABLE_FREE_DTOR-ptdesc.pt_flags-kernel-pgtable.html"  # unique per question
    assert "UNSAFE" in html and "116,736 configs checked" in html and "39,296 unsafe" in html
    assert "stale-after-free" in html and "elapsed_seconds" in html  # extra keys shown, not dropped
    # the counterexample configs drawn with the bit in question
    assert "<strong>1. collision</strong> on <code>x86_64-maxsmp</code>" in html
    assert "bit 25: LRU_REFS (the bit in question)" in html
    assert "alloc tag (boot option)" in html  # the --set overrides of the label were applied


def test_check_report_markdown_writes_pictures(tmp_path):
    paths = api.write_check_report(copy.deepcopy(CHECK_UNSAFE), str(tmp_path), "md")
    md = paths[0].read_text()
    assert paths[0].suffix == ".md" and all(p.suffix == ".svg" for p in paths[1:])
    for p in paths[1:]:
        assert f"]({p.name})" in md and p.read_text().startswith("<svg")
    assert "**❌ UNSAFE**" in md


def test_safe_check_and_minimal_dicts(tmp_path):
    (path,) = api.write_check_report(CHECK_SAFE, str(tmp_path), "html")
    assert "SAFE" in path.read_text() and "UNSAFE" not in path.read_text()
    (path,) = api.write_check_report({"verdict": "safe"}, str(tmp_path / "min"), "html")
    assert path.exists()
    (path,) = api.write_simulation_report({"verdict": "unsafe", "findings": [{"kind": "leak"}]},
                                          str(tmp_path / "min"), "html")
    assert "leak" in path.read_text()


def test_simulation_report_timeline(tmp_path):
    (path,) = api.write_simulation_report(copy.deepcopy(SIM_UNSAFE), str(tmp_path), "html")
    html = path.read_text()
    assert path.name == "simulate-memdesc-ptdesc-x86_64-6.18.html"  # variant and config
    svg = re.search(r'<svg[^>]*class="timeline".*?</svg>', html, re.S).group(0)
    for lane in ("CPU0", "CPU1", "worker", "iommu"):
        assert f">{lane}</text>" in svg
    # the failing step (where: "step 5", numbered from 1 as printed) is the red one
    assert svg.count('stroke="#de2d26"') == 1 and "step 5: CPU1: list_del" in svg
    # before/after with the changed fields marked and poison named
    assert "0xdead000000000122 (LIST_POISON2)" in html
    assert '<tr class="bad"><td>memdesc</td>' in html
    assert "extra_debug" in html  # unknown data keys kept
    (path,) = api.write_simulation_report(SIM_SAFE, str(tmp_path), "html")
    assert "SAFE" in path.read_text()


@pytest.mark.parametrize("step, actor, label", [
    ({"cpu": 1, "op": "list_del", "page": 3}, "CPU1", "list_del(page=3)"),
    ({"actor": "worker", "action": "splice"}, "worker", "splice"),
    (["iommu", "walk", "pgd"], "iommu", "walk pgd"),
    ("cpu0: pagetable_free(pte 3)", "cpu0", "pagetable_free(pte 3)"),
    ("free everything now", "main", "free everything now"),
    (42, "main", "42"),
])
def test_steps_in_any_shape(step, actor, label):
    s = normalise_step(step, 0)
    assert (s["actor"], s["label"]) == (actor, label)


def test_bits_of_findings():
    assert bits_of({"data": {"bit": 25}}) == [25]
    assert bits_of({"where": "page.flags bits 22-24"}) == [22, 23, 24]  # the older string form
    where = {"struct": "ptdesc", "field": "pt_flags", "bit": 24, "bits": [24], "step": None, "detail": None}
    assert bits_of({"where": where, "message": "bit 3"}) == [24]
    # message text is never parsed: a bit named only there is not the finding's bit
    assert bits_of({"message": "lands on bit 3"}) == []


def test_bad_format_and_output_that_is_a_file(tmp_path):
    with pytest.raises(InputError, match="unknown report format"):
        api.write_check_report(CHECK_SAFE, str(tmp_path), "pdf")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        api.write_check_report(CHECK_SAFE, str(f), "html")


def test_no_partial_files_when_rendering_fails(tmp_path, monkeypatch):
    from mmbits.report import document

    def boom(doc):
        raise RuntimeError("render failed")

    monkeypatch.setattr(api, "render_markdown", boom)
    with pytest.raises(RuntimeError):
        api.write_simulation_report(SIM_UNSAFE, str(tmp_path / "out"), "md")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    del document
