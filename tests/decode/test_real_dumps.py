"""Every real public dump_page() report in tests/data/dumps/real (sources in its INDEX.md).

Expected values are the kernel's own lines in those files: the `page dumped
because:` reason says whether the page is inconsistent (bad_page(),
print_bad_pte(), filemap_unaccount_folio()), the `page:`/`flags:`/
`page_type:`/`head:` lines are what the decode must reproduce, and the
`CPU: … tainted <release>` / `Hardware name:` lines are what it must infer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmbits.decode.api import decode_text
from mmbits.findings import exit_code
from mmbits.results import DecodeResult
from mmbits.schemas import validate

REAL = Path(__file__).resolve().parents[1] / "data" / "dumps" / "real"
FILES = sorted(p.name for p in REAL.glob("*.txt"))

# The real inconsistencies, from each file's own `page dumped because:` line
# (kind of finding, field it names). Files not listed here hold a KASAN,
# VM_BUG_ON, page_owner or migration report: the page itself is not at fault.
REAL_FINDINGS = {
    "arm64-6.10rc7-mte-badpte-and-badpagestate-mapcount.txt":  # bad pte; nonzero mapcount
        {("inconsistent", "_mapcount"), ("bad-page-at-free", "_mapcount")},
    "arm64-6.10rc7-mte-shmem-pagecache-still-mapped.txt": {("inconsistent", "_mapcount")},  # still mapped
    "arm64-6.12.0-rpi-cm3-badpte-fbdev-file-page-dentry.txt": {("inconsistent", "_mapcount")},  # bad pte
    "arm64-6.13rc2-hugetlb-pmd-pgtable-table-nonzero-mapcount.txt": {("bad-page-at-free", "_mapcount")},
    "arm64-6.8rc7-gce-badpagestate-private-hashed-ptr-github.txt": {("bad-page-at-free", "flags")},
    "i386-6.10.10-macbookpro1-badpagestate-mapcount-10word.txt": {("bad-page-at-free", "_mapcount")},
    "ppc64-6.18rc3-pseries-pte-frag-pgtable-active.txt": {("bad-page-at-free", "flags")},
    "riscv-rv64ilp32-6.13rc4-32bit-struct-page-nonzero-mapcount.txt": {("bad-page-at-free", "_mapcount")},
    "riscv64-6.16rc1next-badpte-reserved-zone0-no-node.txt": {("inconsistent", "_mapcount")},
    "s390x-6.11rc5next-badpte-anon-mapcount-minus1.txt": {("inconsistent", "_mapcount")},
    "x86_64-6.15rc-hugetlb-hvo-tail-page-corrupted-mapping.txt": {("bad-page-at-free", "mapping")},
    "x86_64-6.6rc1-hpe-badpte-buddy-kernel-prefix.txt": {("inconsistent", "_mapcount")},  # buddy page in a pte
    "x86_64-6.9rc4-buddy-hwpoison-badpage-and-vmbug-notbuddy.txt": {("bad-page-at-free", "_mapcount")},
    # v6.3 printed only the head page; the dumped tail is the folio's page 1 (its index is the
    # head's + 1), whose own words hold _folio_order 9 and _pincount 1: the kernel's reason, confirmed
    "arm64-6.3rc2-thp-tail-page-nonzero-pincount-pipe-prefixed.txt": {("bad-page-at-free", "_pincount")},
}
# Kernel reasons the dumped words cannot confirm, so a note and exit 0: on parisc 6.15-rc1 the kernel's
# own PP_MAGIC_MASK matched a list pointer (fixed in v6.16: the file's thread).
UNCONFIRMED = {
    "parisc32be-6.15rc1-b160l-badpagestate-page_pool-leak.txt": "page_pool leak",
}
# The model has no UML arch: its 56-byte (7-word) struct page is the generic one, read
# with a model arch whose struct page has 56 bytes (no HAVE_ALIGNED_STRUCT_PAGE), said so.
STAND_IN = {"um-x86_64-6.5rc2-kunit-kasan-slab-7word-struct-page.txt"}


def _decode(name: str):  # type: ignore[no-untyped-def]
    path = REAL / name
    return decode_text(path.read_text(encoding="utf-8"), file=str(path))


def test_the_fixtures_are_all_here():
    assert len(FILES) == 43 and (REAL / "INDEX.md").is_file()
    for name in FILES:
        head = (REAL / name).read_text(encoding="utf-8").splitlines()[0]
        assert head.startswith("# "), name  # each cites its source


@pytest.mark.parametrize("name", FILES)
def test_full_text_decode_exit_code_is_the_pages_own(name):
    if name in STAND_IN:
        (page,) = _decode(name)
        assert "struct page has 56 bytes" in page.choice.note and page.config.arch != "x86_64"
    pages = _decode(name)
    findings = [f for d in pages for f in d.findings]
    got = {(f.kind, f.where.field) for f in findings if f.severity in ("error", "warning")}
    assert got == REAL_FINDINGS.get(name, set())
    assert exit_code(findings) == (1 if name in REAL_FINDINGS else 0)
    assert not any(f.kind == "kernel-disagrees" for f in findings)  # never blame the kernel for our skew
    if name in UNCONFIRMED:
        assert any(UNCONFIRMED[name] in f.message and f.severity == "note" for f in findings)
    doc = DecodeResult(pages).to_json()
    validate("decode", doc)  # the shipped schema, with what was inferred from which line
    assert all(e["line"] >= 0 and e["text"] for p in doc["pages"] for e in p.get("inferred", []))


@pytest.mark.parametrize("name", FILES)
def test_every_printed_field_is_reproduced(name):
    for dec in _decode(name):
        wrong = {c.item: (c.printed, c.ours) for c in dec.checks if c.status == "disagrees"}
        assert wrong == {}, wrong
        statuses = {c.item: c.status for c in dec.checks}
        assert statuses.get("refcount") == "agrees" and statuses.get("index") == "agrees"


def _fields(pgp: str | None) -> list[str]:
    return re.findall(r"\w+=\w+", pgp or "")


@pytest.mark.parametrize("name, version, arch", [
    ("arm64-6.3rc2-thp-tail-page-nonzero-pincount-pipe-prefixed.txt", (6, 3), None),
    ("s390x-6.4rc3-kasan-slab-kmalloc4k-head-order3.txt", (6, 4), "s390x"),
    ("ppc32be-6.11rc2-pmacg4-kasan-stack-page-zone0.txt", (6, 11), "powerpc32"),
    ("parisc32be-6.15rc1-b160l-badpagestate-page_pool-leak.txt", (6, 15), "parisc32"),
    ("ppc64-6.18rc3-pseries-pte-frag-pgtable-active.txt", (6, 18), "powerpc64"),
    ("x86_64-6.6rc1-hpe-badpte-buddy-kernel-prefix.txt", (6, 6), "x86_64"),
    ("i386-6.10.10-macbookpro1-badpagestate-mapcount-10word.txt", (6, 10), "i386"),
])
def test_release_and_arch_come_from_the_reports_own_lines(name, version, arch):
    (dec, *_rest) = _decode(name)
    assert dec.context.version == version
    if arch:
        assert dec.context.arch == arch
    assert all(ev.line > 0 and ev.text for ev in dec.context.evidence)  # each says which line


@pytest.mark.parametrize("name", ["s390x-6.4rc3-kasan-slab-kmalloc4k-head-order3.txt",
                                  "s390x-6.11rc5next-badpte-anon-mapcount-minus1.txt"])
def test_big_endian_64bit_pages_read_big_endian(name):
    for dec in _decode(name):
        assert not dec.little
        assert {c.item: c.status for c in dec.checks}["mapcount"] == "agrees"


def test_seed_still_lists_list_poison2_with_the_right_zone():
    seed = REAL.parent / "seed-004-willy-ptdesc-memdesc.txt"
    (dec,) = decode_text(seed.read_text(encoding="utf-8"), file=str(seed))
    assert dec.page is not None
    prev = next(s for s in dec.page.slots if "lru.prev" in s.names)
    assert "LIST_POISON2" in prev.meaning
    zone = dec.word.field("zone")
    assert zone is not None
    assert dec.word.zones[(dec.page.values["flags"] >> zone.lsb) & ((1 << zone.width) - 1)] == "ZONE_NORMAL"


def test_an_arch_the_model_lacks_is_read_with_a_stand_in_and_said():
    """UML (arch/um, 6.5-rc2 KUnit report): the model has no um block; given --arch um, the
    7-word page is read with a model arch of that struct page size and the note says so;
    the fields dump_page printed still agree."""
    name = "um-x86_64-6.5rc2-kunit-kasan-slab-7word-struct-page.txt"
    (page,) = decode_text((REAL / name).read_text(encoding="utf-8"), arch="um")
    assert "the model has no um" in page.choice.note and "56-byte struct page" in page.choice.note
    statuses = {c.item: c.status for c in page.checks}
    assert statuses["refcount"] == statuses["mapcount"] == statuses["index"] == "agrees"
