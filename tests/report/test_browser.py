"""The HTML reports in a real browser: headless Chromium loads them without a
console error, and every SVG is laid out (non-zero size) with its field names
as text. Skipped, with the reason, when no Chromium is installed, except in CI
(CI=true), where a missing Chromium fails the tests (.ci/run installs Debian's
`chromium` and stops if it cannot)."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from report.browser import Browser, find_chromium
from report.results import CHECK_UNSAFE, SIM_UNSAFE

CHROMIUM = find_chromium()
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
pytestmark = pytest.mark.skipif(CHROMIUM is None and not IN_CI,
                                reason="chromium is not installed (apt-get install chromium)")

MEASURE = """
Array.from(document.querySelectorAll('svg')).map(s => {
  const r = s.getBoundingClientRect();
  return {cls: s.getAttribute('class'), w: r.width, h: r.height,
          text: Array.from(s.querySelectorAll('text')).map(t => t.textContent).join(' '),
          texts_laid_out: Array.from(s.querySelectorAll('text')).filter(t => t.getBBox().width > 0).length,
          texts: s.querySelectorAll('text').length};
})
"""


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("CI=true but no Chromium is installed: the browser test must run in CI (apt-get install chromium)")
    with Browser(CHROMIUM) as b:
        yield b


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    from mmbits.report import api

    out = tmp_path_factory.mktemp("html")
    layout = api.write_layout_report(out, "html")[0]
    check = api.write_check_report(copy.deepcopy(CHECK_UNSAFE), str(out), "html")[0]
    sim = api.write_simulation_report(copy.deepcopy(SIM_UNSAFE), str(out), "html")[0]
    return {"layout": layout, "check": check, "sim": sim}


def load(browser: Browser, path: Path) -> list[dict]:
    browser.load(path)
    assert browser.problems() == []
    svgs = browser.evaluate(MEASURE)
    assert svgs, "no SVG in the page"
    for svg in svgs:
        assert svg["w"] > 100 and svg["h"] > 50, svg["cls"]
        assert svg["texts"] and svg["texts_laid_out"] == svg["texts"], svg["cls"]
    return svgs


def test_layout_report_renders(browser, reports, tmp_path):
    svgs = {s["cls"]: s for s in load(browser, reports["layout"])}
    assert set(svgs) == {"flagsmap", "bytemap", "flagstrips", "freebits"}
    for name in ("NODE", "ZONE", "LAST_CPUPID", "locked", "dropbehind"):
        assert name in svgs["flagsmap"]["text"]
    for name in ("compound_head", "pt_list.next", "slab_cache", "_flags_1", "first_obj_offset", "memdesc"):
        assert name in svgs["bytemap"]["text"]
    # readable on a laptop: the page does not scroll sideways at 1366 px
    assert browser.evaluate("document.documentElement.scrollWidth") <= 1366
    shot = browser.screenshot(tmp_path / "layout.png")
    assert shot.stat().st_size > 10_000


def test_check_and_simulation_reports_render(browser, reports):
    svgs = load(browser, reports["check"])
    assert all(s["cls"] == "flagsmap" for s in svgs) and "LRU_GEN" in svgs[0]["text"]
    (timeline,) = load(browser, reports["sim"])
    assert timeline["cls"] == "timeline" and "list_del" in timeline["text"]


@pytest.mark.parametrize("name", sorted(p.name for p in (Path(__file__).resolve().parents[2] / "reports").glob("*.html")
                                        if p.name.startswith(("check-", "simulate-"))))
def test_committed_check_and_simulation_examples_render(browser, name):
    """Every committed check/simulate example loads cleanly, fits a laptop screen, and
    its pictures (flags maps, page_type word, timelines) are laid out with their text."""
    browser.load(Path(__file__).resolve().parents[2] / "reports" / name)
    assert browser.problems() == []
    assert browser.evaluate("document.documentElement.scrollWidth") <= 1366
    for svg in browser.evaluate(MEASURE):
        assert svg["w"] > 100 and svg["h"] > 50, (name, svg["cls"])
        assert svg["texts"] and svg["texts_laid_out"] == svg["texts"], (name, svg["cls"])
