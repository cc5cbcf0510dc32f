"""A report that names no release (no `CPU: ... tainted` line) is decoded with the
model's newest release; the releases that fit the kernel's own lines as well are listed
beside it, with the fields they read differently, as a note (issue 13).

The report: tests/data/dumps/real/x86_64-la57-2025-12-hugetlb-1G-order18-migration-failure.txt
(linux-mm, 4 Dec 2025; its header: kernel not stated, a 6.18/6.19-rc era tree; page_type
printed as one byte, `f4(hugetlb)`, the format since v6.12). Facts typed in from the kernel:
include/linux/mm_types.h renamed struct page's `index` to `__folio_index` in v6.16 ("mm:
rename page->index to page->__folio_index"); `page_type: f4(...)`, a type byte, is v6.12's
format (v6.1-v6.11 printed the whole word, `0xffffff7f(buddy)`)."""

from __future__ import annotations

from pathlib import Path

from mmbits.decode.api import decode_text
from mmbits.decode.model import release_text
from mmbits.decode.render import render
from mmbits.results import DecodeResult
from mmbits.schemas import validate

REAL = Path(__file__).resolve().parents[1] / "data" / "dumps" / "real"
NO_RELEASE = REAL / "x86_64-la57-2025-12-hugetlb-1G-order18-migration-failure.txt"
NAMED = REAL / "x86_64-6.13rc1-kasan-buddy-order10-no-page-owner.txt"


def _page():
    (page,) = decode_text(NO_RELEASE.read_text(encoding="utf-8"))
    return page


def test_the_releases_that_fit_a_report_naming_none_are_listed_with_what_they_read_differently() -> None:
    page = _page()
    assert page.context.version is None
    alts = page.releases
    assert alts is not None
    fitting = [release_text(c) for c in alts.fitting]
    # the one-byte page_type line is v6.12's format: no older release fits; the report's era does
    assert all(c >= 6012 for c in alts.fitting) and "6.18" in fitting and len(fitting) >= 2
    (index,) = [f for f in alts.differing if f.field.startswith("offset 32, 8 bytes")]
    readings = dict(index.readings)
    assert max(readings["index"]) == 6015 and min(readings["__folio_index"]) == 6016
    assert 6018 in readings["__folio_index"]


def test_the_release_alternatives_are_a_note_in_the_text_and_json_not_a_finding() -> None:
    page = _page()
    text = render(page)
    assert "releases: no line names the kernel release" in text
    assert "index [6.12-6.15]  |  __folio_index [6.16-" in text
    assert not any("release" in f.kind for f in page.findings)
    doc = DecodeResult([page]).to_json()
    validate("decode", doc)
    assert doc["pages"][0]["releases"]["decoded_with"] == release_text(page.releases.chosen)  # type: ignore[union-attr]


def test_a_report_whose_lines_name_the_release_has_no_alternatives() -> None:
    (page,) = decode_text(NAMED.read_text(encoding="utf-8"))
    assert page.context.version == (6, 13) and page.releases is None
