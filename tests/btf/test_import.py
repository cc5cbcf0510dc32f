"""`mmbits btf import` writes a kernel's differences into the one layout set: nothing for a
kernel the layouts already model (the real Debian 6.1 and 6.12 BTFs), exactly one
`until:`/`since:` pair for a kernel with one renamed member (the real 6.12 BTF with one
member renamed by btfgen), and the edited layouts resolve to the BTF pahole-exact."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from btf.btfgen import rename_member
from mmbits.btf import open_btf
from mmbits.btf.render import layout_of
from mmbits.kconfig.dotconfig import config_from_file
from mmbits.kconfig.model import load_model
from mmbits.layout.registry import layouts, load_layout_set
from mmbits.paths import version_dir

from conftest import DATA, OLD_CONFIG, OLD_PAHOLE, REF_CONFIG
from util.clirun import assert_clean_error, run_cli
from util.pahole_text import parse

KERNELS = DATA / "kernels"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def debian_61(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import lzma

    tmp = tmp_path_factory.mktemp("deb61")
    config = tmp / "config-6.1.176-amd64"
    config.write_bytes(lzma.decompress((KERNELS / "linux-6.1.176-amd64.config.xz").read_bytes()))
    return KERNELS / "linux-6.1.176-amd64.btf.xz", config  # the reader takes .xz as it is


def _private_layouts(root: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """A copy of layouts/ at `root` for a test to import into, and a runner of mmbits over it
    (in a new process: MMBITS_LAYOUTS is read at start-up; no cache, so nothing is shared)."""
    shutil.copytree(ROOT / "layouts", root, symlinks=True)
    env = {**os.environ, "MMBITS_LAYOUTS": str(root), "MMBITS_CACHE": "off"}

    def mmbits(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mmbits", *args], capture_output=True, text=True, env=env,
                              timeout=120)

    return mmbits


def _pahole(path: Path) -> dict[str, set[tuple[str, int, int]]]:
    return {name: {(m["name"], m["offset"], m["size"]) for m in s["members"]} for name, s in parse(path).items()}


@pytest.mark.parametrize("kernel", ["6.12", "6.1"])
def test_a_modelled_kernel_imports_as_no_change(kernel: str, old_btf: Path, debian_61: tuple[Path, Path]) -> None:
    btf, config = (old_btf, OLD_CONFIG) if kernel == "6.12" else debian_61
    r = run_cli("btf", "import", str(btf), "--config", str(config), "--json")
    assert r.code == 0, r.out + r.err
    d = r.json()
    assert d["release"] == kernel and d["changes"] == [] and d["files"] == [] and d["patch"] == ""
    assert d["findings"] == []
    # the structs the release has, from the pahole text made beside each blob
    want = {"6.12": {"page", "folio", "ptdesc", "slab"}, "6.1": {"page", "folio", "slab"}}[kernel]
    assert set(d["checked"]) == want


def test_one_renamed_member_is_one_until_since_pair(old_btf: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.btf"
    renamed.write_bytes(rename_member(old_btf.read_bytes(), "page", "_refcount", "_refs"))
    out = tmp_path / "out"
    r = run_cli("btf", "import", str(renamed), "--config", str(OLD_CONFIG), "--out", str(out), "--json")
    d = r.json()
    assert [(c["what"], c["path"]) for c in d["changes"]] == [('until "6.12"', "page._refcount"),
                                                               ('since "6.12"', "page._refs")]
    # 6.12 is not the newest modelled release: the one finding says the edit reaches past it
    assert [f["kind"] for f in d["findings"]] == ["version-skew"] and r.code == 1
    assert d["files"] == ["page.yaml"] and sorted(p.name for p in out.iterdir()) == ["page.yaml"]
    shipped = (version_dir() / "page.yaml").read_text()
    written = (out / "page.yaml").read_text()
    added = [ln[:1] + ln[2:] for ln in difflib.ndiff(shipped.splitlines(), written.splitlines()) if ln[:1] in "+-"]
    assert added == ["+    until: '6.12'", "+  - _refs: atomic_t", "+    since: '6.12'"]
    # the edited set, resolved for the 6.12 config, is the renamed BTF, pahole-exact
    vdir = version_dir()
    edited = load_layout_set([vdir], vdir / "types.yaml", "kernel", overrides=[out / "page.yaml"])
    cfg, _ = config_from_file(OLD_CONFIG)
    ours = edited.resolve("page", cfg)
    assert ours.to_json() == layout_of(open_btf(renamed), "page").to_json()
    want = {(("_refs" if n == "_refcount" else n), o, s) for n, o, s in _pahole(OLD_PAHOLE)["page"]}
    assert {(m.name, m.offset, m.size) for m in ours.members} == want
    # ... and 6.11 is what it was
    older = load_model().make(dict(cfg.primary, VERSION=6011))
    assert edited.resolve("page", older).to_json() == layouts().resolve("page", older).to_json()


def test_patch_on_stdout_applies_to_the_checkout(old_btf: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.btf"
    renamed.write_bytes(rename_member(old_btf.read_bytes(), "slab", "slab_cache", "cache"))
    r = run_cli("btf", "import", str(renamed), "--config", str(OLD_CONFIG))
    assert r.out.startswith("--- a/layouts/kernel/slab.yaml\n+++ b/layouts/kernel/slab.yaml\n")
    assert 'until "6.12": slab.slab_cache' in r.err and 'since "6.12": slab.cache' in r.err
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "layouts" / "kernel", tree / "layouts" / "kernel")
    (tmp_path / "p.diff").write_text(r.out)
    subprocess.run(["patch", "-s", "-p1", "-d", str(tree), "-i", str(tmp_path / "p.diff")], check=True, timeout=30)
    out = tmp_path / "out"
    run_cli("btf", "import", str(renamed), "--config", str(OLD_CONFIG), "--out", str(out))
    assert (tree / "layouts" / "kernel" / "slab.yaml").read_text() == (out / "slab.yaml").read_text()


def test_a_new_release_in_place(ref_btf: Path, tmp_path: Path) -> None:
    """The 6.18 reference BTF imported as a release the model lacks, into a copy of layouts/:
    the release is listed, its one vendor member gets `since:`, and `show` reads it at once."""
    root = tmp_path / "layouts"
    mmbits = _private_layouts(root)

    # a release after the newest modelled one (7.1): the 6.18 BTF relabelled, so what changed
    # from 6.18 to 7.1 comes back as `until:`/`since:` 7.2 too; the vendor member is among them
    r = mmbits("btf", "import", str(ref_btf), "--config", str(REF_CONFIG), "--kernel", "7.2",
               "--out", str(root / "kernel"))
    assert re.search(r'page\.yaml:\d+: since "7\.2": page\.buddy_since', r.stdout), r.stdout + r.stderr
    assert 'kconfig.yaml: release: kernels: + "7.2"' in r.stdout
    assert "page, folio, ptdesc, slab, zpdesc, ioptdesc equal the BTF" in r.stdout
    assert not [p for p in (root / "kernel").iterdir() if p.name.startswith(".mmbits-")]
    new = mmbits("show", "page", "--config", str(REF_CONFIG), "--kernel", "7.2")
    old = mmbits("show", "page", "--config", str(REF_CONFIG), "--kernel", "7.1")
    assert new.returncode == 0 and "buddy_since" in new.stdout, new.stderr
    assert old.returncode == 0 and "buddy_since" not in old.stdout


def test_import_bad_input_is_one_line(ref_btf: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"\x9f\xeb\x01\x00")
    assert_clean_error(run_cli("btf", "import", str(bad), "--config", str(OLD_CONFIG)))
    assert_clean_error(run_cli("btf", "import", str(ref_btf)))  # no .config beside it
    headless = tmp_path / "config"
    headless.write_text("".join(ln for ln in REF_CONFIG.read_text().splitlines(True) if not ln.startswith("# Linux")))
    assert_clean_error(run_cli("btf", "import", str(ref_btf), "--config", str(headless)))  # which release?
    r = run_cli("btf", "import", str(ref_btf), "--btf", str(ref_btf), "--config", str(REF_CONFIG))
    assert r.code == 2 and "once" in r.err


def test_one_renamed_page_flag_is_one_until_since_pair(old_btf: Path, tmp_path: Path) -> None:
    """enum pageflags in the 6.12 BTF with PG_workingset renamed: pageflags.yaml gets the pair,
    the new flag the loosest policy and kinds and a finding to set them; the alias on it
    (PG_large_rmappable, still 9 in the BTF) moves to the renamed flag the same way."""
    renamed = tmp_path / "renamed.btf"
    renamed.write_bytes(rename_member(old_btf.read_bytes(), "pageflags", "PG_workingset", "PG_workset"))
    out = tmp_path / "out"
    r = run_cli("btf", "import", str(renamed), "--config", str(OLD_CONFIG), "--out", str(out), "--json")
    d = r.json()
    moved = "pageflags.PG_large_rmappable (alias, base moved)"
    assert [(c["what"], c["path"]) for c in d["changes"]] == [('until "6.12"', "pageflags.PG_workingset"),
                                                               ('until "6.12"', moved), ('since "6.12"', moved),
                                                               ('since "6.12"', "pageflags.PG_workset")]
    assert sorted((f["kind"], f["where"]["field"] if f["where"] else None) for f in d["findings"]) == [
        ("enum-mismatch", "PG_workset"), ("version-skew", None)]
    shipped = (version_dir() / "pageflags.yaml").read_text()
    written = (out / "pageflags.yaml").read_text()
    changed = [ln[:1] + ln[2:] for ln in difflib.ndiff(shipped.splitlines(), written.splitlines()) if ln[:1] in "+-"]
    assert changed == ["-  - PG_workingset: {policy: PF_HEAD, kinds: [anon, file]}",
                       "+  - PG_workingset: {policy: PF_HEAD, kinds: [anon, file], until: '6.12'}",
                       "+  - PG_workset:", "+      since: '6.12'", "+      policy: PF_ANY", "+      kinds: [any]",
                       '-  - PG_large_rmappable: {base: PG_workingset, since: "6.6", kinds: [anon, file], page: second, '
                       "if: TRANSPARENT_HUGEPAGE}",
                       "+  - PG_large_rmappable: {base: PG_workingset, since: '6.6', kinds: [anon, file], page: second, "
                       "if: TRANSPARENT_HUGEPAGE, until: '6.12'}",
                       "+  - PG_large_rmappable:", "+      base: PG_workset", "+      since: '6.12'",
                       "+      kinds: [anon, file]", "+      page: second", "+      if: TRANSPARENT_HUGEPAGE"]


def test_btf_verify_agrees_after_an_import_in_place(old_btf: Path, tmp_path: Path) -> None:
    """The end-to-end loop of a kernel developer: import into the checkout, then `btf verify`
    finds nothing (the 6.12 BTF with a renamed page member and a renamed page flag)."""
    blob = rename_member(old_btf.read_bytes(), "page", "_refcount", "_refs")
    changed = tmp_path / "changed.btf"
    changed.write_bytes(rename_member(blob, "pageflags", "PG_workingset", "PG_workset"))
    root = tmp_path / "layouts"
    mmbits = _private_layouts(root)

    before = mmbits("btf", "verify", "--btf", str(changed), "--config", str(OLD_CONFIG))
    assert before.returncode == 1 and "page: our member _refcount is called _refs" in before.stdout
    imp = mmbits("btf", "import", str(changed), "--config", str(OLD_CONFIG), "--out", str(root / "kernel"))
    assert imp.returncode == 1 and "wrote 2 files" in imp.stdout, imp.stdout + imp.stderr
    after = mmbits("btf", "verify", "--btf", str(changed), "--config", str(OLD_CONFIG))
    assert after.returncode == 0 and after.stdout.rstrip().endswith("BTF and layouts agree"), after.stdout
