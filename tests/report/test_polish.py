"""Report polish (issue 11), checked on the committed example reports in reports/ (which
tests/report/test_examples.py keeps equal to what the writers produce now):

- every id on an HTML page is unique, and every `url(#..)` / `href="#.."` points at one;
- a picture's legend names every colour its bit cells use (the flags-word pictures);
- no internal labels (`A:`, `B2:`) or references to documents users do not have;
- raw JSON is folded away in a `<details>` block, never printed open on the page.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
HTML = sorted(REPORTS.glob("*.html"))
MARKDOWN = sorted(REPORTS.glob("*.md"))

_ID = re.compile(r'\sid="([^"]+)"')
_REF = re.compile(r'(?:url\(#|href="#)([^")]+)')
_RECT = re.compile(r"<rect ([^>]*)>")
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
# `A:` / `B2:` as a label starting a cell, line or sentence (a field's `:3` width or `CPU:` is no label)
_INTERNAL_LABEL = re.compile(r"(?:^|[>|(]\s*|\.\s+)([A-Z]\d?):\s", re.M)
_PRIVATE_DOCS = re.compile(r"shared/(?:reference|seeds)/|deferred-free-and-memdesc\.md")


def test_there_are_examples_to_check() -> None:
    assert len(HTML) >= 5 and len(MARKDOWN) == len(HTML)


@pytest.mark.parametrize("page", HTML, ids=[p.name for p in HTML])
def test_ids_are_unique_and_every_reference_resolves(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    ids = _ID.findall(text)
    twice = sorted(k for k, n in collections.Counter(ids).items() if n > 1)
    assert not twice, f"{page.name}: ids used more than once: {twice}"
    dangling = sorted(set(_REF.findall(text)) - set(ids))
    assert not dangling, f"{page.name}: references to no id: {dangling}"


def _legend_and_cells(svg: str) -> tuple[set[str], set[str]]:
    """Fills of the legend swatches (14x12 rects) and of the bit cells (rects in the row of
    bit numbers, i.e. every other rect that is not white, transparent or the hatch's base)."""
    legend: set[str] = set()
    cells: set[str] = set()
    for attrs in _RECT.findall(svg):
        a = dict(_ATTR.findall(attrs))
        fill = a.get("fill", "")
        if "x" not in a:  # the hatch pattern's own base rect (width/height only)
            continue
        if (a.get("width"), a.get("height")) == ("14", "12"):
            legend.add(fill)
        elif fill not in ("none", "#ffffff", "#fff", "white"):
            cells.add(fill)
    return legend, cells


FLAG_PICTURES = sorted(p for p in REPORTS.glob("*.svg") if p.name.endswith(("-flags-map.svg", "-presets.svg")))


@pytest.mark.parametrize("picture", FLAG_PICTURES, ids=[p.name for p in FLAG_PICTURES])
def test_flags_pictures_explain_every_colour(picture: Path) -> None:
    legend, cells = _legend_and_cells(picture.read_text(encoding="utf-8"))
    assert legend, f"{picture.name}: no legend"
    assert cells <= legend, f"{picture.name}: colours without a legend entry: {sorted(cells - legend)}"


def test_the_legend_check_sees_a_missing_colour() -> None:
    svg = ('<svg><rect x="0" y="0" width="10" height="10" fill="#123456"/>'
           '<rect x="0" y="20" width="14" height="12" fill="#654321"/></svg>')
    legend, cells = _legend_and_cells(svg)
    assert not cells <= legend


@pytest.mark.parametrize("page", HTML + MARKDOWN, ids=[p.name for p in HTML + MARKDOWN])
def test_no_internal_labels_or_private_documents(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    visible = re.sub(r"<svg.*?</svg>|<pre>.*?</pre>|```.*?```", "", text, flags=re.S)
    assert not _INTERNAL_LABEL.findall(visible), f"{page.name}: internal labels {_INTERNAL_LABEL.findall(visible)}"
    assert not _PRIVATE_DOCS.search(text), f"{page.name}: names a document users do not have"


def test_the_label_check_sees_a_label() -> None:
    assert _INTERNAL_LABEL.findall("<td>B2: the one-list draft</td>") == ["B2"]
    assert not _INTERNAL_LABEL.findall("<td>u32 order:8 (bits 0-7)</td>")


@pytest.mark.parametrize("page", HTML, ids=[p.name for p in HTML])
def test_raw_json_is_folded(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    open_text = re.sub(r"<details>.*?</details>", "", text, flags=re.S)
    for pre in re.findall(r"<pre>(.*?)</pre>", open_text, flags=re.S):
        assert not re.match(r"\s*(?:\{|\[)\s*&quot;", pre), f"{page.name}: raw JSON printed open: {pre[:80]!r}"
