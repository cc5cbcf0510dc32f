"""`mmbits patch`: checkpatch-style text, --terse, --json, stdin, exit status."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from util.clirun import assert_clean_error

DATA = Path(__file__).parent / "data"


def test_checkpatch_format(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("patch", str(DATA / "0002-ptdesc-type-kernel-bit0.patch"))
    assert r.code == 1
    lines = r.out.splitlines()
    assert lines[0].startswith("ERROR:ALWAYS_TRUE: PTDESC_TYPE_KERNEL = BIT(0) in ptdesc.__page_type: ")
    assert lines[1] == "#22: FILE: include/linux/mm_types.h:602:"
    assert lines[2] == "+#define PTDESC_TYPE_KERNEL\tBIT(0)"
    assert lines[-1] == "total: 1 errors, 0 warnings, 53 lines checked"


def test_clean_patch_exit_0(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("patch", str(DATA / "0004-merged-pt-kernel.patch"))
    assert r.code == 0 and r.out.strip() == "total: 0 errors, 0 warnings, 56 lines checked"


def test_terse(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("patch", "--terse", str(DATA / "0007-nonatomic-set-bit.patch"))
    assert r.code == 1
    assert r.out.startswith("mm/gup.c:535: WARNING:NON_ATOMIC: __set_bit() on folio.flags.f is a plain "
                            "read-modify-write")
    assert len(r.out.splitlines()) == 1


def test_json_and_series(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("patch", "--json", str(DATA / "series-mixed.mbox"))
    data = r.json()
    assert r.code == 1 and data["errors"] == 2 and len(data["patches"]) == 2
    f = data["findings"][data["patches"][1]["findings"][0]]  # per-patch groups point into findings
    assert set(f) == {"kind", "severity", "message", "config", "where", "data"}
    assert set(f["data"]) >= {"patch", "level", "type", "file", "line", "patch_line", "source", "check"}
    assert f["data"]["patch"] == 2 and f["data"]["level"] == "ERROR" and f["severity"] == "error"
    text = cli("patch", str(DATA / "series-mixed.mbox")).out
    assert "patch 2/2: [PATCH RFC v3.1] mm: Defer kernel page table freeing through one list" in text


def test_stdin_and_preset(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    raw = (DATA / "0001-one-list-crlf.patch").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    r = cli("patch", "-", "--preset", "x86_64-6.18", "--terse")
    assert r.code == 1
    assert "mm/pgtable-generic.c:412: ERROR:UNALLOCATED_BIT:" in r.out
    assert "[config: x86_64-6.18]" in r.out and "COLLISION" not in r.out  # reference row A: bit 24 is in the gap


def test_truncated_hunk_is_a_warning_not_a_refusal(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("patch", str(DATA / "truncated-hunk.patch"), "--preset", "x86_64-6.18")
    assert r.code == 1 and r.err == ""
    assert "WARNING:MALFORMED_HUNK: malformed hunk @@ -406,3 +406,60 @@ in mm/pgtable-generic.c: 0 old and 39 new " \
           "lines missing" in r.out
    assert "#17: FILE: mm/pgtable-generic.c:" in r.out
    assert_clean_error(cli("patch", str(tmp_path / "missing.patch")))
    empty = tmp_path / "empty.patch"
    empty.write_text("")
    assert_clean_error(cli("patch", str(empty)))
