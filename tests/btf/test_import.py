"""`mmbits btf import`: generated YAML loads, resolves for the kernel's .config to the BTF (and
the pahole text) exactly, carries our conditions, says what BTF cannot know, and the enums load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mmbits.btf import open_btf
from mmbits.btf.render import layout_of
from mmbits.kconfig.dotconfig import config_from_file
from mmbits.layout.registry import load_layout_set
from mmbits.paths import version_dir

from conftest import DATA, OLD_CONFIG, REF_CONFIG, REF_PAHOLE
from util.clirun import assert_clean_error
from util.pahole_text import parse

STRUCTS = ("page", "folio", "ptdesc", "slab", "zpdesc", "ioptdesc")
PAHOLE = parse(REF_PAHOLE) | parse(DATA / "linux-6.18-x86_64.ioptdesc.pahole.txt")


@pytest.fixture(scope="module")
def imported(ref_btf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from util.clirun import run_cli

    out = tmp_path_factory.mktemp("import") / "v6.18-imported"
    r = run_cli("btf", "import", "--btf", str(ref_btf), "--out", str(out), "--config", str(REF_CONFIG),
                "--like", "v6.18")
    assert r.code == 0, r.err
    assert "warning" not in r.out, r.out  # the self-check: every file resolves back to the BTF
    return out


def test_generated_layouts_resolve_to_the_btf(imported: Path, ref_btf: Path) -> None:
    vdir = version_dir()
    lset = load_layout_set([vdir], vdir / "types.yaml", "v6.18", overrides=[imported / f"{s}.yaml" for s in STRUCTS])
    cfg, _ = config_from_file(REF_CONFIG)
    b = open_btf(ref_btf)
    for name in STRUCTS:
        ours = lset.resolve(name, cfg)
        assert ours.to_json() == layout_of(b, name).to_json(), name
        want = {(m["name"], m["offset"], m["size"]) for m in PAHOLE[name]["members"]}
        assert {(m.name, m.offset, m.size) for m in ours.members} == want, name


def test_header_and_carried_conditions(imported: Path) -> None:
    page = (imported / "page.yaml").read_text()
    assert "no `if:` condition can be known from BTF" in page
    assert "REVIEW EVERY CONDITION" in page
    assert "if: MEMCG  # from v6.18" in page
    assert "buddy_since: long unsigned int" in page  # the vendor member is imported as it is
    assert "{virtual: void *, if: WANT_PAGE_VIRTUAL}  # not in this BTF" in page
    slab = (imported / "slab.yaml").read_text()
    assert "{inuse: unsigned int, bits: 16}" in slab and "if: SLUB_CPU_PARTIAL  # from v6.18" in slab


def test_generated_enums_load(imported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              ref_btf: Path) -> None:
    """Drop the generated enum files into a copy of layouts/ and load them with the flags loader."""
    from mmbits import paths
    from mmbits.flags import data, packing
    from mmbits.kconfig import model

    root = tmp_path / "layouts"
    shutil.copytree(paths.layouts_root(), root)
    for f in ("pageflags.yaml", "pt_flags.yaml", "pagetype.yaml"):
        shutil.copy(imported / f, root / "kernel" / f)
    caches = (paths.layouts_root, data.load_flag_data, model.load_model, packing.compute)
    monkeypatch.setenv("MMBITS_LAYOUTS", str(root))
    for c in caches:
        if hasattr(c, "cache_clear"):
            c.cache_clear()
    try:
        flags = data.load_flag_data()
        b = open_btf(ref_btf)
        btf_flags = dict(b.enum_values(b.find("pageflags")[0]))
        cfg, _ = config_from_file(REF_CONFIG)
        word = packing.compute(cfg)
        assert {f.name: f.bit for f in word.flags} == {n: v for n, v in btf_flags.items()
                                                       if n in flags.flag_names() and n != "__NR_PAGEFLAGS"}
        assert word.nr_pageflags == btf_flags["__NR_PAGEFLAGS"]
        assert {t.name: t.value for t in flags.page_types} == dict(b.enum_values(b.find("pagetype")[0]))
        assert {a.name for a in flags.aliases if a.enum == "pt_flags"} == {"PT_kernel", "PT_reserved"}
    finally:
        monkeypatch.delenv("MMBITS_LAYOUTS")
        for c in caches:
            if hasattr(c, "cache_clear"):
                c.cache_clear()


def test_old_kernel_import_round_trips(cli, old_btf: Path, tmp_path: Path) -> None:
    out = tmp_path / "v6.12"
    r = cli("btf", "import", "--btf", str(old_btf), "--out", str(out), "--config", str(OLD_CONFIG), "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert "warning" not in str(d["warnings"]) and d["warnings"] == []
    assert {"struct zpdesc (not in this BTF)", "enum pt_flags (not in this BTF)"} <= set(d["skipped"])
    assert not (out / "zpdesc.yaml").exists()


def test_import_bad_output_leaves_nothing(cli, ref_btf: Path, tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert_clean_error(cli("btf", "import", "--btf", str(ref_btf), "--out", str(target)))
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"\x9f\xeb\x01\x00")
    out = tmp_path / "out"
    assert_clean_error(cli("btf", "import", "--btf", str(bad), "--out", str(out)))
    assert not out.exists()
