"""The check and simulation reports of real results: the seeds' proposals proved over
the default domain and small exhaustive emulator runs (the same results the committed
examples are made from, computed once per session by mmbits.report.examples)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmbits.report import api
from mmbits.report.check_report import bits_of, config_of, flags_shift
from mmbits.report.examples import check_result, simulation_result


def _svg(html: str, css_class: str) -> list[str]:
    return re.findall(rf'<svg[^>]*class="{css_class}".*?</svg>', html, re.S)


def test_unsafe_check_report_has_verdict_counterexamples_and_kinds(tmp_path: Path) -> None:
    result = check_result("async_pgtable_free_dtor")
    (path,) = api.write_check_report(result, tmp_path, "html")
    html = path.read_text()
    assert '<div class="banner bad">UNSAFE' in html
    assert "185,856 configs checked" in html
    # every kind is a group with its count, and each finding's counterexample config is shown
    kinds: dict[str, int] = {}
    for f in result["findings"]:
        kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
    for kind, n in kinds.items():
        assert f"<strong>{kind}</strong> ({n})" in html
    collision = next(f for f in result["findings"] if f["kind"] == "collision")
    assert collision["config"] in html
    # the first collision drawn on its own config: the proposal's bit (from where) outlined
    (bit,) = bits_of(collision, where_only=True)
    maps = _svg(html, "flagsmap")
    assert maps and f"bit {bit}: LRU_REFS (the bit in question)" in maps[0]
    # the lifecycle finding's schedule as a timeline, with what each step did
    assert "Lifecycle: the failing schedules" in html and "stale-after-free" in html
    assert re.search(r"Failing schedule \(\d+ steps?, step \d+ fails\)", html)
    assert "ASYNC_PGTABLE_FREE_DTOR: ptdesc.pt_flags |= 0x" in html  # the set, as the step did it


def test_check_report_markdown_names_the_pictures(tmp_path: Path) -> None:
    paths = api.write_check_report(check_result("async_pgtable_free_dtor"), tmp_path, "md")
    md = paths[0].read_text()
    assert md.startswith("# mmbits check: UNSAFE") and "**❌ UNSAFE**" in md
    assert len(paths) > 1
    for p in paths[1:]:
        assert f"]({p.name})" in md
        text = p.read_text()
        if "-schedule-" in p.name:  # a lifecycle schedule's timeline
            assert 'class="timeline"' in text and "fails" in text
        else:  # the bit drawn on a counterexample config
            assert "(the bit in question)" in text
    assert any("-schedule-" in p.name for p in paths)


def test_safe_check_report_draws_the_bit_on_the_reference_config(tmp_path: Path) -> None:
    (path,) = api.write_check_report(check_result("pt_kernel"), tmp_path, "html")
    html = path.read_text()
    assert '<div class="banner ok">SAFE' in html and "UNSAFE" not in html
    (flags,) = _svg(html, "flagsmap")
    assert "bit 2: referenced (the bit in question)" in flags  # PT_kernel = PG_referenced


def test_page_type_check_report_draws_the_page_type_word(tmp_path: Path) -> None:
    (path,) = api.write_check_report(check_result("ptdesc_type_kernel"), tmp_path, "html")
    html = path.read_text()
    assert "always-true" in html and "wiped-before-test" in html
    assert not _svg(html, "flagsmap")  # __page_type is not the flags word
    (word,) = _svg(html, "wordmap")
    assert "untyped (UINT_MAX)" in word and "PGTY_table | BIT(0)" in word and "type byte" in word


def test_counterexample_config_is_rebuilt_from_its_symbols() -> None:
    collision = next(f for f in check_result("async_pgtable_free_dtor")["findings"] if f["kind"] == "collision")
    cfg = config_of(collision["config"], collision["data"]["config_symbols"])
    assert cfg is not None and cfg.label() == collision["config"]
    from mmbits.flags.packing import compute

    field = next(f for f in compute(cfg).fields if f.name == collision["data"]["field"].lower())
    assert field.lsb == collision["data"]["lsb"]
    assert flags_shift("ptdesc.pt_flags", cfg) == 0 and flags_shift("ptdesc.__page_type", cfg) is None


@pytest.mark.parametrize("where, bits", [
    ("ptdesc.pt_flags bit 0x200000: free_pages", [21]),
    ("ptdesc.__page_type bit 0x1: pagetable_free", [0]),
    ("ptdesc.pt_flags bit 25", [25]),
    ("ptdesc.pt_flags", []),
])
def test_bits_of_where(where: str, bits: list[int]) -> None:
    assert bits_of({"where": where, "message": "page.flags bits 21-61"}, where_only=True) == bits


def test_failing_simulation_report_has_the_timeline_and_the_page(tmp_path: Path) -> None:
    result = simulation_result("memdesc-ptdesc")
    (finding,) = [f for f in result["findings"] if f["kind"] == "memdesc-clobbered"]
    bad = finding["data"]["step"]
    (path,) = api.write_simulation_report(result, tmp_path, "html")
    html = path.read_text()
    assert '<div class="banner bad">UNSAFE' in html and "memdesc-clobbered" in html
    (svg,) = _svg(html, "timeline")
    failing = finding["data"]["schedule"][bad]
    # the failing step, numbered from 1 as the text output prints it, is the one red box
    assert svg.count('stroke="#de2d26"') == 1
    assert f"step {bad + 1}: {failing['thread']}: {failing['step']}" in svg
    assert f'<tr class="bad"><td>{bad + 1}</td>' in html
    # the page's bytes as dump_page prints them, and field by field with the poison named
    for line in finding["data"]["before"]["raw"]:
        assert line in html
    assert "0xdead000000000122 (LIST_POISON2)" in html
    assert '<tr class="warn"><td>memdesc</td>' in html
    assert "seconds" not in html  # the examples drop wall-clock figures


def test_leak_report_and_safe_upstream(tmp_path: Path) -> None:
    paths = api.write_simulation_report(simulation_result("v6.19"), tmp_path, "md")
    md = paths[0].read_text()
    assert "**❌ UNSAFE**" in md and "page(s) leaked" in md and "non-compound" in md
    # two findings (the hot-add table's IOMMU use-after-free, then the leak), one timeline each;
    # the leak is found by the end-of-run check
    assert len(paths[1:]) == 2 and ">end of run</text>" in paths[2].read_text()
    (path,) = api.write_simulation_report(simulation_result("v6.19+fixes+hotplug"), tmp_path, "html")
    html = path.read_text()
    assert '<div class="banner ok">SAFE' in html and not _svg(html, "timeline")
    assert "workload cpu2" in html and "<td>complete</td><td>yes</td>" in html
