"""`mmbits btf verify`: exactly the vendor member on 6.18; clear version skew and real differences on 6.12."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from conftest import OLD_CONFIG, REF_CONFIG
from util.clirun import assert_clean_error


def _where(finding: dict) -> str:
    """STRUCT.FIELD of a finding's structured where (or its free text)."""
    w = finding["where"]
    if w is None:
        return ""
    return f"{w['struct']}.{w['field']}" if w["field"] else (w["struct"] or w["detail"] or "")

def test_reference_kernel_has_exactly_the_vendor_member(cli, ref_btf: Path) -> None:
    r = cli("btf", "verify", "--btf", str(ref_btf), "--config", str(REF_CONFIG), "--json")
    assert r.code == 1, r.err
    d = r.json()
    assert [(f["kind"], f["where"]["struct"], f["where"]["field"]) for f in d["findings"]] == [
        ("extra-member", "page", "buddy_since")]
    assert d["findings"][0]["data"] == {"offset": 32, "size": 8, "type": "long unsigned int"}
    assert d["kernel"] == "6.18.44" and d["layouts"] == "v6.18"
    assert {s["struct"] for s in d["structs"]} == {"page", "folio", "ptdesc", "slab", "zpdesc", "ioptdesc"}
    assert {"pageflags", "pagetype", "pt_flags", "slab_flags"} <= set(d["enums"])
    text = cli("btf", "verify", "--btf", str(ref_btf), "--config", str(REF_CONFIG))
    assert text.code == 1 and text.out.rstrip().endswith("1 finding")
    assert "ERROR:extra-member: struct page: the BTF has a member our layout lacks: buddy_since" in text.out


def test_old_kernel_at_its_release_is_clean(cli, old_btf: Path) -> None:
    """The .config header says 6.12.117: the 6.12 layouts and enums equal the BTF."""
    r = cli("btf", "verify", "--btf", str(old_btf), "--config", str(OLD_CONFIG), "--json")
    assert r.code == 0, r.out + r.err
    d = r.json()
    assert d["layouts"] == "v6.12" and d["kernel"] == "6.12.117" and d["findings"] == []
    assert {s["struct"] for s in d["structs"]} == {"page", "folio", "ptdesc", "slab"}
    assert {"pageflags", "pagetype"} == set(d["enums"])


def test_old_kernel_read_as_6_18_says_skew_and_reports_real_differences(cli, old_btf: Path) -> None:
    r = cli("btf", "verify", "--btf", str(old_btf), "--config", str(OLD_CONFIG), "--kernel", "6.18", "--json")
    assert r.code == 1 and r.err == ""
    findings = r.json()["findings"]
    first = findings[0]
    assert first["kind"] == "version-skew" and first["severity"] == "warning"
    assert "v6.18" in first["message"] and "6.12.117" in first["message"]
    assert set(first["data"]["absent"]) == {"zpdesc", "ioptdesc"}
    where = {(f["kind"], _where(f)) for f in findings}
    # facts from the 6.12 pahole text shipped beside the blob
    assert ("type-mismatch", "page.flags") in where  # long unsigned int, not memdesc_flags_t
    assert ("layout-mismatch", "zpdesc") in where and ("layout-mismatch", "ioptdesc") in where
    assert ("layout-mismatch", "folio._entire_mapcount") in where  # 84 in 6.12, 88 in 6.18
    assert ("extra-member", "folio._folio_nr_pages") in where
    assert ("enum-mismatch", "pageflags.PG_isolated") in where
    assert ("enum-mismatch", "pt_flags") in where and ("enum-mismatch", "pagetype.PGTY_large_kmalloc") in where
    # no noise: one finding per difference
    assert max(Counter((f["kind"], _where(f)) for f in findings).values()) == 1
    renamed = next(f for f in findings if _where(f) == "page.__folio_index")
    assert renamed["data"]["btf_name"] == "index"  # a rename is one finding, not missing + extra
    assert ("extra-member", "page.index") not in where
    dropbehind = next(f for f in findings if _where(f) == "pageflags.PG_dropbehind")
    assert dropbehind["data"]["renumbered"] == ["PG_mlocked", "PG_hwpoison", "PG_young", "PG_idle", "PG_arch_2",
                                                "__NR_PAGEFLAGS"]
    assert not any(_where(f) == "pageflags.PG_mlocked" for f in findings)


def test_verify_bad_input(cli, ref_btf: Path, tmp_path: Path) -> None:
    assert_clean_error(cli("btf", "verify", "--btf", str(ref_btf), "--config", str(tmp_path / "none")))
    bad = tmp_path / "x.btf"
    bad.write_bytes(b"\x9f\xeb\x01\x00" + bytes(4))
    assert_clean_error(cli("btf", "verify", "--btf", str(bad), "--config", str(REF_CONFIG)))
    assert_clean_error(cli("btf", "verify", "--btf", str(ref_btf)))  # --config is required


def test_release_is_picked_from_the_btf_without_a_header(cli, old_btf: Path, tmp_path: Path) -> None:
    bare = tmp_path / "config"
    bare.write_text("".join(ln for ln in OLD_CONFIG.read_text().splitlines(True) if not ln.startswith("# Linux")))
    r = cli("btf", "verify", "--btf", str(old_btf), "--config", str(bare), "--json")
    assert r.code == 0, r.out + r.err
    d = r.json()
    assert d["layouts"] == "v6.12" and d["findings"] == []
    assert d["release"].startswith("Linux 6.12 picked from the BTF")


def test_unmodelled_release_is_refused(cli, tmp_path: Path) -> None:
    future = tmp_path / "config"
    future.write_text(REF_CONFIG.read_text().replace("6.18.44 Kernel Configuration", "9.3.1 Kernel Configuration"))
    r = cli("flags", "--config", str(future))
    assert_clean_error(r)
    assert "Linux 9.3 is not modelled" in r.err and "--kernel" in r.err
    assert cli("flags", "--config", str(future), "--kernel", "6.18").code == 0
