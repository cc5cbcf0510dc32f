"""`mmbits decode` from the command line: output, JSON schema, exit status, errors."""

from __future__ import annotations

import io
import sys

import pytest

from decode.dumps import DUMPS, dump

from util.clirun import assert_clean_error

SEED = str(DUMPS / "seed-004-willy-ptdesc-memdesc.txt")
F2FS = str(DUMPS / "syzbot-f2fs-meta-page.txt")


def test_text_output_is_dump_page_like(cli):
    r = cli("decode", SEED)
    assert r.code == 0, r.err  # only notes: a list_del()'d page is not inconsistent
    assert "page: refcount:1 mapcount:0 mapping:0000000000000000 index:0xffff888119a59420" in r.out
    assert "flags: 0x8000000000000000(zone=2)" in r.out
    assert "LIST_POISON2" in r.out and "ZONE_NORMAL" in r.out
    assert "depends on the config" in r.out


def test_json_schema(cli):
    r = cli("decode", F2FS, "--preset", "x86_64-defconfig-lru-gen", "--set", "NR_CPUS=8",
            "--set", "NUMA_BALANCING=y", "--set", "ZONE_DEVICE=y", "--set", "MEMORY_HOTPLUG=y", "--json")
    assert r.code == 0, r.err
    (p,) = r.json()["pages"]
    for key in ("words", "kind", "refcount", "mapcount", "mapping", "index", "page_type", "flags", "head",
                "findings", "config", "agreement", "fields", "overlay", "bits", "endian"):
        assert key in p
    assert set(p["flags"]) >= {"hex", "names", "fields"}
    assert {"node", "zone", "lastcpupid"} <= set(p["flags"]["fields"])
    assert p["words"][0] == "00fff200000000a9" and p["head"] is None
    assert (p["refcount"], p["mapcount"], p["mapping"], p["index"], p["page_type"]) == \
        (2, 0, "ffff888043b30220", "0x1201", None)


def test_several_reports_and_stdin(cli, monkeypatch):
    text = dump("seed-004-willy-ptdesc-memdesc.txt") + "\n" + dump("lkml-2504.1-11364-hugetlb-tail.txt")
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    r = cli("decode", "-", "--json")
    # the second is a Bad page state whose words show what the kernel said
    # ("corrupted mapping in tail page": mapping 0, not TAIL_MAPPING): exit 1
    assert r.code == 1, r.err
    assert len(r.json()["pages"]) == 2
    assert [f["kind"] for f in r.json()["findings"] if f["severity"] == "error"] == ["bad-page-at-free"]
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    r = cli("decode")
    assert "=== page 1 (" in r.out and "=== page 2 (" in r.out


def test_findings_give_exit_1_and_model_skew_does_not(cli):
    r = cli("decode", SEED, "--as", "page_sep")
    assert r.code == 1 and "ERROR:memdesc-clobbered" in r.out
    r = cli("decode", str(DUMPS / "metha-14-arm32-4.19.txt"))
    assert r.code == 0 and "NOTE:version-skew" in r.out  # the tool's own version skew is a note, never exit 1


@pytest.mark.parametrize("args", [
    ("decode", "/nonexistent/dump.txt"),
    ("decode", SEED, "--bits", "32"),
    ("decode", SEED, "--kind", "no-such-kind"),
    ("decode", SEED, "--as", "no_such_struct"),
    ("decode", SEED, "--preset", "x86_64-6.18", "--endian", "big"),
    ("decode", SEED, "--preset", "i386-highmem-flatmem"),
    ("decode", str(DUMPS)),
])
def test_bad_input_is_one_line_exit_2(cli, args):
    assert_clean_error(cli(*args))


def test_malformed_raw_line_names_file_and_line(cli, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x1\n"
                   "raw: 8000000000000000 0000000000000000 dead00000000012g 0000000000000000\n")
    r = cli("decode", str(bad))
    assert_clean_error(r)
    assert f"{bad}:2:" in r.err and "not hex" in r.err


def test_kind_override_picks_the_overlay(cli):
    r = cli("decode", SEED, "--kind", "iommu-pgtable", "--json")
    (p,) = r.json()["pages"]
    assert p["kind"] == "iommu-pgtable" and p["overlay"]["struct"] == "ioptdesc"
    assert "--kind iommu-pgtable" in p["kind_reason"]
