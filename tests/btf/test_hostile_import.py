"""Issue #16, `btf import` treats BTF names as hostile: a `!!python/object/apply` member
name or an enum constant with `": "` in it is refused and reported, never written into
the YAML; the output directory is written as one set (mmbits.outputs) and every OSError
on it is one error line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from btf.btfgen import BtfBuilder

from util.clirun import assert_clean_error, run_cli

EVIL_MEMBER = '!!python/object/apply:os.system ["touch /tmp/mmbits-pwned"]'
EVIL_ENUM = "PG_evil: !!python/object/apply:os.system"


def _hostile_btf(tmp_path: Path) -> Path:
    b = BtfBuilder()
    ulong = b.int_("long unsigned int", 8)
    uint = b.int_("unsigned int", 4)
    b.struct("page", 16, [("flags", ulong, 0, 0), (EVIL_MEMBER, ulong, 64, 0)])
    b.struct("ptdesc", 16, [("pt_flags", ulong, 0, 0), ("__page_type", uint, 64, 0), ("__page_refcount", uint, 96, 0)])
    b.enum("pageflags", [("PG_locked", 0), (EVIL_ENUM, 1), ("a" * 3000, 2), ("__NR_PAGEFLAGS", 3)])
    path = tmp_path / "hostile.btf"
    path.write_bytes(b.blob())
    return path


def test_hostile_names_are_refused_and_reported(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_cli("btf", "import", "--btf", str(_hostile_btf(tmp_path)), "--out", str(out))
    assert "Traceback" not in r.err and "internal error" not in r.err, r.err
    assert "refused member names" in r.out and "struct page" in r.out
    assert "refused enum constants" in r.out and "PG_evil" in r.out
    assert len(max(r.out.splitlines(), key=len)) < 400  # the 3,000-character name is cut
    written = sorted(p.name for p in out.iterdir())
    assert "page.yaml" not in written and "ptdesc.yaml" in written
    for p in out.iterdir():
        text = p.read_text()
        assert "!!python" not in text and "PG_evil" not in text
        yaml.safe_load(text)


@pytest.mark.parametrize("case", ["dangling-symlink", "file-in-the-way", "name-too-long", "dir-as-target"])
def test_output_dir_errors_are_one_line(tmp_path: Path, ref_btf: Path, case: str) -> None:
    if case == "dangling-symlink":
        out = tmp_path / "link"
        out.symlink_to(tmp_path / "missing" / "deeper")
    elif case == "file-in-the-way":
        out = tmp_path / "file"
        out.write_text("x")
    elif case == "name-too-long":
        out = tmp_path / ("d" * 300)
    else:
        out = tmp_path / "out"
        (out / "ptdesc.yaml").mkdir(parents=True)
        (out / "page.yaml").write_text("old\n")
    r = run_cli("btf", "import", "--btf", str(ref_btf), "--out", str(out))
    assert_clean_error(r)
    if case == "dir-as-target":
        assert (out / "page.yaml").read_text() == "old\n"  # nothing of the new set replaced
        assert sorted(p.name for p in out.iterdir()) == ["page.yaml", "ptdesc.yaml"]


def test_enospc_on_import_leaves_nothing(tmp_path: Path, ref_btf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = open

    def full(path: object, mode: str = "r", *a: object, **k: object):  # type: ignore[no-untyped-def]
        if "w" in mode and ".mmbits-" in str(path) and str(path).endswith("slab.yaml"):
            raise OSError(28, "No space left on device", str(path))
        return real_open(path, mode, *a, **k)  # type: ignore[call-overload]

    import builtins

    monkeypatch.setattr(builtins, "open", full)
    out = tmp_path / "out"
    r = run_cli("btf", "import", "--btf", str(ref_btf), "--out", str(out))
    assert_clean_error(r)
    assert "No space left on device" in r.err
    assert not out.exists() or list(out.iterdir()) == []
    assert os.listdir(tmp_path) in ([], ["out"]) or not out.exists()
