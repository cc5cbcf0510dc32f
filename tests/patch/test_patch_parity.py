"""`patch` derives each added definition's proposal and runs `check`'s engine on it
(issue 14, item 6): same verdict for the same bit; the meaning of an enum pageflags
entry comes from where it sits; a truncated hunk is scanned as far as it goes."""

from __future__ import annotations

from pathlib import Path

from prover.helpers import config_of

from mmbits.patch import parse, scan_patches
from mmbits.proposal import Proposal
from mmbits.prover import check

# include/linux/page-flags.h (v6.18), the head of the second-page block of enum pageflags
SECOND_BLOCK = [
    "\t/*",
    "\t * Flags only valid for compound pages.  Stored in first tail page's",
    "\t * flags word.  Cannot use the first 8 flags or any flag marked as",
    "\t * PF_ANY.",
    "\t */",
]


def _patch(path: str, func: str, before: list[str], added: list[str], after: list[str], start: int = 100,
           old: int | None = None, new: int | None = None) -> str:
    old = len(before) + len(after) if old is None else old
    new = old + len(added) if new is None else new
    body = [f" {t}" for t in before] + [f"+{t}" for t in added] + [f" {t}" for t in after]
    return "\n".join([f"--- a/{path}", f"+++ b/{path}", f"@@ -{start},{old} +{start},{new} @@ {func}", *body]) + "\n"


def _scan(text: str) -> list:  # type: ignore[type-arg]
    (report,) = scan_patches(parse(text, "t.patch"), config=config_of("x86_64-6.18"), source="x86_64-6.18")
    return report  # type: ignore[return-value]


def test_alias_in_the_second_page_block_is_checked_on_page_1() -> None:
    """`PG_was_split = PG_uptodate,` under the second-page comment: PG_uptodate is bit 3,
    inside the folio order byte of page[1] ("Cannot use the first 8 flags")."""
    text = _patch("include/linux/page-flags.h", "enum pageflags {", SECOND_BLOCK, ["\tPG_was_split = PG_uptodate,"],
                  ["", "\t/* At least one page in this folio has the hwpoison flag set */"])
    rep = _scan(text)
    got = [(f.level, f.type) for f in rep.findings]
    assert ("ERROR", "COLLISION") in got
    assert "folio order" in next(f.message for f in rep.findings if f.type == "COLLISION")
    (derived,) = rep.proposals
    assert derived.proposal.to_json() == {"expr": "BIT(PG_uptodate)", "word": "folio._flags_1", "name": "PG_was_split"}
    same = check(Proposal("PG_uptodate", "folio._flags_1", None, "PG_was_split"), config=config_of("x86_64-6.18"),
                 lifecycle=False)
    assert derived.verdict == same.verdict == "unsafe"


def test_an_existing_second_page_alias_in_context_marks_the_block() -> None:
    text = _patch("include/linux/page-flags.h", "enum pageflags {",
                  ["\tPG_has_hwpoisoned = PG_active,", "\tPG_large_rmappable = PG_workingset, /* anon or file */"],
                  ["\tPG_was_split = PG_locked,"], ["};"])
    rep = _scan(text)
    assert [p.proposal.word for p in rep.proposals] == ["folio._flags_1"]
    assert rep.proposals[0].verdict == "unsafe"  # bit 0: the folio order byte


def test_pt_reserved_is_the_same_verdict_in_patch_and_check() -> None:
    """Upstream's `PT_reserved = PG_reserved` is v6.18's own definition: no BAD_PAGE_AT_FREE
    from patch while check says SAFE (reserved tables are freed by free_reserved_page())."""
    text = _patch("include/linux/mm.h", "static inline void ptdesc_clear_kernel(struct ptdesc *ptdesc)",
                  ["enum pt_flags {", "\tPT_kernel = PG_referenced,"], ["\tPT_reserved = PG_reserved,"], ["};"])
    rep = _scan(text)
    assert rep.findings == []
    verdicts = {p.proposal.name: p.verdict for p in rep.proposals}
    cfg = config_of("x86_64-6.18")
    for kind in (None, "kernel-pgtable", "pgtable"):
        r = check(Proposal("PG_reserved", "ptdesc.pt_flags", kind, "PT_reserved"), config=cfg, lifecycle=False)
        assert r.verdict == verdicts["PT_reserved"] == "safe"
        assert "existing-definition" in {f.kind for f in r.findings}
        assert not [f for f in r.findings if f.severity != "note"]


def test_truncated_hunk_is_scanned_and_warned(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The header promises 9 new lines, 2 are there (a paste cut short): the added
    `#define` and its use are still checked, plus WARNING:MALFORMED_HUNK naming the hunk."""
    text = _patch("mm/pgtable-generic.c", "void pagetable_free(struct ptdesc *pt)", [],
                  ["\tif (pt->pt_flags.f | BIT(PG_locked))", "\t\treturn;"], [], old=3, new=9)
    path = tmp_path / "cut.patch"
    path.write_text(text)
    r = cli("patch", str(path), "--preset", "x86_64-6.18")
    assert r.code == 1, r.out + r.err
    assert "WARNING:MALFORMED_HUNK: malformed hunk @@ -100,3 +100,9 @@ in mm/pgtable-generic.c" in r.out
    assert "#3: FILE: mm/pgtable-generic.c:" in r.out
    assert "ALWAYS_TRUE" in r.out  # what is there was read
    longer = _patch("mm/x.c", "f()", [], ["\tif (pt->pt_flags.f | BIT(PG_locked))", "\t\treturn;"], [], old=0, new=1)
    rep = _scan(longer)
    assert {f.type for f in rep.findings} >= {"MALFORMED_HUNK", "ALWAYS_TRUE"}


def test_nothing_readable_is_bad_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from util.clirun import assert_clean_error

    path = tmp_path / "empty-hunk.patch"
    path.write_text("--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,4 @@\n")
    r = cli("patch", str(path))
    assert_clean_error(r)
    assert "malformed hunk" in r.err
