"""The diff reader: format-patch mails, mboxes, CRLF, and malformed input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbits.errors import InputError
from mmbits.patch.diff import parse

DATA = Path(__file__).parent / "data"


def test_format_patch_mail() -> None:
    (p,) = parse((DATA / "0002-ptdesc-type-kernel-bit0.patch").read_bytes())
    assert p.subject == "[PATCH RFC v3.2] mm: Mark kernel page tables with PTDESC_TYPE_KERNEL"
    assert [f.path for f in p.files] == ["include/linux/mm_types.h", "include/asm-generic/pgalloc.h",
                                         "include/linux/mm.h"]
    added = [(f.path, ln.new_no, ln.text) for f, _h, ln in p.added()]
    assert ("include/linux/mm_types.h", 602, "#define PTDESC_TYPE_KERNEL\tBIT(0)") in added
    assert ("include/linux/mm.h", 2964, "\tif (pt->__page_type & PTDESC_TYPE_KERNEL)") in added


def test_crlf_reads_like_lf() -> None:
    lf = parse((DATA / "0001-one-list-async-pgtable-free-dtor.patch").read_bytes())
    crlf = parse((DATA / "0001-one-list-crlf.patch").read_bytes())
    assert [(ln.new_no, ln.text) for _f, _h, ln in lf[0].added()] == \
        [(ln.new_no, ln.text) for _f, _h, ln in crlf[0].added()]


def test_mbox_with_a_series() -> None:
    patches = parse((DATA / "series-merged.mbox").read_text())
    assert [p.subject for p in patches] == ["[PATCH v7 2/8] mm: Add a ptdesc flag to mark kernel page tables",
                                            "[PATCH v7 7/8] mm: Introduce deferred freeing for kernel page tables"]
    assert patches[1].start_line == patches[0].end_line + 1


def test_plain_diff_without_mail_headers() -> None:
    text = "--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,3 @@\n a\n+b\n \n"
    (p,) = parse(text)
    assert p.subject == "" and [ln.text for _f, _h, ln in p.added()] == ["b"]


@pytest.mark.parametrize("text, message, line", [
    ("just some text\n", "no unified diff found", None),
    ("--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,4 @@\n", "malformed hunk", 3),  # nothing readable
    ("@@ -1 +1 @@\n-a\n+b\n", "hunk before any", 1),
    ("+++ b/x.c\n@@ -1 +1 @@\n", "'+++' file header without", 1),
    (b"\x00\x01binary", "NUL bytes", None),
])
def test_malformed(text: str | bytes, message: str, line: int | None) -> None:
    with pytest.raises(InputError, match=re.escape(message)) as exc:
        parse(text, "x.patch")
    assert exc.value.file == "x.patch" and exc.value.line == line


def test_short_hunk_is_read_as_far_as_it_goes() -> None:
    (p,) = parse("--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,4 @@\n a\n+b\n", "x.patch")
    assert [ln.text for ln in p.files[0].hunks[0].lines] == ["a", "b"]
    (bad,) = p.malformed
    assert bad.patch_line == 3 and bad.file == "x.c" and "2 old and 2 new lines missing" in bad.message


FIXTURES = sorted(p.read_text() for p in DATA.glob("*.patch") if "crlf" not in p.name)


@given(st.sampled_from(FIXTURES), st.integers(0, 10_000), st.integers(0, 200),
       st.sampled_from(["", "\n", "@@ -1,9 +1,2 @@\n", "+", "-", " ", "\r", "--- a/x\n", "From x Mon 00:00:00\n"]))
def test_fuzzed_patches_parse_or_fail_cleanly(text: str, at: int, cut: int, insert: str) -> None:
    at %= len(text) + 1
    mutated = text[:at] + insert + text[at + cut:]
    try:
        patches = parse(mutated, "fuzz.patch")
    except InputError as exc:
        assert exc.file == "fuzz.patch"
        return
    assert patches and all(p.files for p in patches)
