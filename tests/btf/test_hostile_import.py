"""Issue #16, `btf import` treats BTF names as hostile: a `!!python/object/apply` member
name, an enum constant with `": "` in it, a 3,000-character name and a bad `slab_flags`
constant are refused and each listed (one line, exit 1), never written into the YAML;
the output directory is written as one set (mmbits.outputs) and every OSError on it is
one error line, exit 2: a dangling symlink, a file in the way, ENAMETOOLONG, a directory
where a file goes, and (as root, in a private mount namespace) a full tmpfs (ENOSPC) and
a read-only one (EROFS)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from btf.btfgen import BtfBuilder, rename_member

from conftest import OLD_CONFIG
from util.clirun import assert_clean_error, run_cli

EVIL_MEMBER = '!!python/object/apply:os.system ["touch /tmp/mmbits-pwned"]'
EVIL_ENUM = "PG_evil: !!python/object/apply:os.system"
EVIL_SLAB = "SL_x\n\x1b[31mred"


def _hostile_btf(tmp_path: Path) -> Path:
    b = BtfBuilder()
    ulong = b.int_("long unsigned int", 8)
    uint = b.int_("unsigned int", 4)
    b.struct("page", 16, [("flags", ulong, 0, 0), (EVIL_MEMBER, ulong, 64, 0)])
    evil_type = b.struct("x\u202e: !!python/name:os.system", 8, [("word", ulong, 0, 0)])
    b.struct("slab", 16, [("flags", ulong, 0, 0), ("evil", evil_type, 64, 0)])
    b.struct("ptdesc", 16, [("pt_flags", ulong, 0, 0), ("__page_type", uint, 64, 0), ("__page_refcount", uint, 96, 0)])
    b.enum("pageflags", [("PG_locked", 0), (EVIL_ENUM, 1), ("a" * 3000, 2), ("__NR_PAGEFLAGS", 3)])
    b.enum("slab_flags", [("SL_locked", 0), (EVIL_SLAB, 1)])
    path = tmp_path / "hostile.btf"
    path.write_bytes(b.blob())
    return path


def test_hostile_names_are_refused_and_listed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_cli("btf", "import", str(_hostile_btf(tmp_path)), "--config", str(OLD_CONFIG), "--out", str(out))
    assert "Traceback" not in r.err and "internal error" not in r.err, r.err
    assert r.code == 1  # findings to review, under the exit rule
    refused = [ln for ln in r.out.splitlines() if ln.startswith("WARNING:refused-name:")]
    assert len(refused) == 5, r.out  # one line per refused name
    assert any("struct page: refused name" in ln and "python/object/apply" in ln for ln in refused)
    assert any("struct slab: refused name" in ln and "python/name:os.system" in ln for ln in refused)  # a type name
    assert any("enum pageflags: refused constant" in ln and "PG_evil" in ln for ln in refused)
    assert any("enum slab_flags: refused constant" in ln and "SL_x\\n\\u001b[31mred" in ln for ln in refused)
    assert "\x1b" not in r.out and len(max(r.out.splitlines(), key=len)) < 400  # escaped, and the long name cut
    assert {"page.yaml", "slab.yaml"}.isdisjoint(os.listdir(out))  # structs with a refused name are not imported
    for p in out.iterdir():
        text = p.read_text()
        assert "!!python" not in text and "PG_evil" not in text and "SL_x" not in text
        yaml.safe_load(text)


def test_json_lists_refused_names(tmp_path: Path) -> None:
    r = run_cli("btf", "import", str(_hostile_btf(tmp_path)), "--config", str(OLD_CONFIG), "--json")
    kinds = [f["kind"] for f in r.json()["findings"]]  # type: ignore[index]
    assert kinds.count("refused-name") == 5 and r.code == 1


def _changed_btf(tmp_path: Path, old_btf: Path) -> Path:
    """The real 6.12 BTF with one member renamed: an import that has a file to write."""
    path = tmp_path / "renamed.btf"
    path.write_bytes(rename_member(old_btf.read_bytes(), "page", "_refcount", "_refs"))
    return path


@pytest.mark.parametrize("case", ["dangling-symlink", "file-in-the-way", "name-too-long", "dir-as-target"])
def test_output_dir_errors_are_one_line(tmp_path: Path, old_btf: Path, case: str) -> None:
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
        (out / "page.yaml").mkdir(parents=True)
        (out / "slab.yaml").write_text("old\n")
    r = run_cli("btf", "import", str(_changed_btf(tmp_path, old_btf)), "--config", str(OLD_CONFIG), "--out", str(out))
    assert_clean_error(r)
    if case == "dir-as-target":
        assert (out / "slab.yaml").read_text() == "old\n"
        assert sorted(p.name for p in out.iterdir()) == ["page.yaml", "slab.yaml"]
        assert list((out / "page.yaml").iterdir()) == []


def _can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        "mount -t tmpfs -o size=4k tmpfs /mnt"], capture_output=True, timeout=30)
    return r.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="needs root and unshare(1) to mount a private tmpfs")


@needs_mount
@pytest.mark.parametrize(("mount_opts", "errno_text"), [("size=8k", "No space left on device"),
                                                        ("size=1m,ro", "Read-only file system")],
                         ids=["ENOSPC", "EROFS"])
def test_full_or_read_only_filesystem_is_one_line(tmp_path: Path, old_btf: Path, mount_opts: str,
                                                  errno_text: str) -> None:
    """A real filesystem, in a mount namespace of the child only: page.yaml (about 10 KB) does
    not fit an 8 KB tmpfs; a read-only one refuses the directory."""
    btf = _changed_btf(tmp_path, old_btf)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = (f'mount -t tmpfs -o {mount_opts} tmpfs "$1" && exec "$2" -m mmbits btf import "$3" --config "$4" '
              f'--out "$1/out"; echo mount failed >&2; exit 99')
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        f'{script}; ls -A "$1" >&2', "sh", str(mnt), sys.executable, str(btf), str(OLD_CONFIG)],
                       capture_output=True, text=True, timeout=120)
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert len(err) == 1 and errno_text in err[0] and "Traceback" not in r.stderr, err
    assert r.stdout == ""


@needs_mount
def test_enospc_leaves_no_partial_files(tmp_path: Path, old_btf: Path) -> None:
    """After the ENOSPC, the tmpfs holds nothing of the import (listed from inside the namespace)."""
    btf = _changed_btf(tmp_path, old_btf)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = ('mount -t tmpfs -o size=8k tmpfs "$1" || exit 99; "$2" -m mmbits btf import "$3" --config "$4" '
              '--out "$1/out" 2>/dev/null; echo "rc=$?"; find "$1" -mindepth 1')
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(mnt),
                        sys.executable, str(btf), str(OLD_CONFIG)], capture_output=True, text=True, timeout=120)
    lines = r.stdout.split()
    assert lines == ["rc=2"], r.stdout + r.stderr  # no out/, no temp dir, no half page.yaml


def _limit_file_size() -> None:  # pragma: no cover - runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


@pytest.mark.parametrize("command", ["btf import", pytest.param("report", marks=pytest.mark.slow)])
def test_efbig_is_one_line_and_leaves_nothing(tmp_path: Path, old_btf: Path, command: str) -> None:
    """RLIMIT_FSIZE of 4 KB (Python ignores SIGXFSZ, so the write fails with EFBIG): page.yaml
    and a report's Markdown are larger; one error line, exit 2, nothing left in DIR."""
    out = tmp_path / "out"
    if command == "btf import":
        args = ["btf", "import", str(_changed_btf(tmp_path, old_btf)), "--config", str(OLD_CONFIG), "--out", str(out)]
    else:
        args = ["report", "--format", "md", "--out", str(out)]
    r = subprocess.run([sys.executable, "-m", "mmbits", *args], capture_output=True, text=True, timeout=120,
                       preexec_fn=_limit_file_size, env={**os.environ, "MMBITS_CACHE": "off"})
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(err) == 1 and "File too large" in err[0], (r.returncode, err)
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize(("name", "ok"), [("_refcount", True), ("PG_locked", True), ("a" * 128, True),
                                          ("a" * 129, False), ("int", False), ("_Bool", False), ("9lives", False),
                                          ("caf\u00e9", False), ("a b", False), ("", False), ("x-y", False)])
def test_c_identifier_rule(name: str, ok: bool) -> None:
    from mmbits.btf.importer import is_c_identifier

    assert is_c_identifier(name) is ok
