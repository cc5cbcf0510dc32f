"""Issue #16, the cache: entries bound to their key, only our own regular files read,
private temp files, and a cache directory others can write to refused with a warning.
The second-user test forks a child under uid 65534 (needs root; skipped otherwise)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

import pytest

from btf.btfgen import sample
from mmbits import cachedir
from mmbits.btf import cache, open_btf
from mmbits.main import _fast_btf_show

NOBODY = 65534


def _blob(tmp_path: Path, extra: str | None = None) -> Path:
    b = sample()
    if extra:
        b.int_(extra, 4)
    path = tmp_path / f"{extra or 'demo'}.btf"
    path.write_bytes(b.blob())
    return path


def _show(path: Path, capsys: pytest.CaptureFixture[str], name: str = "demo") -> tuple[int, str, str]:
    rc = _fast_btf_show([name, "--btf", str(path)])
    got = capsys.readouterr()
    return rc or 0, got.out, got.err


@pytest.fixture(autouse=True)
def _fresh_checks() -> None:
    cachedir._checked.clear()


def test_swapped_output_entries_are_misses(tmp_path: Path, btf_cache_dir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # issue #16: swapping two `.out` entries made each blob print the other's layout, exit 0
    a, b = _blob(tmp_path), _blob(tmp_path, "extra")
    _, out_a, _ = _show(a, capsys)
    _, out_b, _ = _show(b, capsys)
    entries = sorted((btf_cache_dir / "btf").glob("*.out"), key=lambda p: p.stat().st_mtime_ns)
    assert len(entries) == 2
    raw0, raw1 = entries[0].read_bytes(), entries[1].read_bytes()
    entries[0].write_bytes(raw1)
    entries[1].write_bytes(raw0)
    assert _show(a, capsys)[1] == out_a
    assert _show(b, capsys)[1] == out_b


def test_checksum_valid_index_of_another_blob_under_this_key(tmp_path: Path, btf_cache_dir: Path) -> None:
    # issue #16: 21 of 42 blob pairs used another blob's valid index stored under this key
    a, b = _blob(tmp_path), _blob(tmp_path, "extra")
    open_btf(a)
    open_btf(b)
    ka, kb = cache.blob_key(a.read_bytes()), cache.blob_key(b.read_bytes())
    d = btf_cache_dir / "btf"
    (d / f"{ka}.idx").write_bytes((d / f"{kb}.idx").read_bytes())
    assert cache.load(ka) is None
    assert open_btf(a).count == sample().count


@pytest.mark.parametrize("kind", ["symlink-to-zero", "fifo", "directory", "huge"])
def test_special_entries_are_misses_fast(tmp_path: Path, btf_cache_dir: Path, kind: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = _blob(tmp_path)
    d = btf_cache_dir / "btf"
    d.mkdir(parents=True, mode=0o700, exist_ok=True)
    entry = d / f"{cache.blob_key(path.read_bytes())}.idx"
    if kind == "symlink-to-zero":
        entry.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(entry)
    elif kind == "directory":
        entry.mkdir()
    else:
        monkeypatch.setattr(cache, "MAX_INDEX_BYTES", 10)
        entry.write_bytes(b"x" * 11)
    start = time.perf_counter()
    assert open_btf(path).count == sample().count
    assert time.perf_counter() - start < 10  # wall time: a hang (FIFO) uses no CPU


def test_temp_files_private_and_dirs_0700(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "c"
    monkeypatch.setenv("MMBITS_CACHE_DIR", str(root))
    old = os.umask(0)
    try:
        made: list[int] = []
        real_replace = os.replace

        def spy(src: str, dst: object) -> None:
            made.append(stat.S_IMODE(os.stat(src).st_mode))
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", spy)
        open_btf(_blob(tmp_path))
    finally:
        os.umask(old)
    assert made == [0o600]
    assert stat.S_IMODE((root / "btf").stat().st_mode) == 0o700
    assert not [p for p in (root / "btf").iterdir() if p.name.endswith(".tmp")]


def test_world_writable_cache_dir_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "shared"
    (root / "btf").mkdir(parents=True)
    os.chmod(root / "btf", 0o777)
    monkeypatch.setenv("MMBITS_CACHE_DIR", str(root))
    rc, out, err = _show(_blob(tmp_path), capsys)
    assert rc == 0 and "struct demo {" in out
    assert err.count("\n") == 1 and "writable by other users" in err and "MMBITS_CACHE" in err
    assert list((root / "btf").iterdir()) == []


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a second user needs root to setuid() a helper")


def _as_nobody(fn) -> None:  # type: ignore[no-untyped-def]
    """Run fn() in a forked child under uid/gid 65534; fail if it fails."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            fn()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@needs_root
def test_second_user_cannot_plant_output_or_redirect_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Another local user owns the shared cache dir, plants a checksum-valid `.out` that claims
    to be our layout and symlinks every predictable name at a file of ours."""
    shared = Path(tempfile.mkdtemp(prefix="mmbits-shared-"))
    try:
        os.chmod(shared, 0o1777)
        blob = _blob(tmp_path)
        os.chmod(tmp_path, 0o755)
        os.chmod(blob, 0o644)
        victim = tmp_path / "victim.txt"
        victim.write_text("mine\n")
        key = cache.blob_key(blob.read_bytes())
        out_key = cache.output_key(key, "demo", "json=False hex=False")

        def plant() -> None:
            d = shared / "mmbits" / "btf"
            d.mkdir(parents=True)
            os.chmod(d, 0o777)
            planted = "struct demo {\n\tint planted_by_another_user;\n};"
            (d / f"{out_key}.out").write_bytes(cache._entry(out_key, cache.TEXT_MAGIC, planted.encode()))
            (d / f"{key}.idx").symlink_to(victim)
            for n in range(os.getpid() - 50, os.getpid() + 5000, 997):
                (d / f".{key}.idx.{n}.tmp").symlink_to(victim)

        _as_nobody(plant)
        monkeypatch.setenv("MMBITS_CACHE_DIR", str(shared / "mmbits"))
        rc, out, err = _show(blob, capsys)
        assert rc == 0 and "planted" not in out and "struct demo {" in out
        assert "not by you" in err or "writable by other users" in err
        assert victim.read_text() == "mine\n"
        # the same user's own cache next to it still works
        monkeypatch.setenv("MMBITS_CACHE_DIR", str(tmp_path / "own"))
        cachedir._checked.clear()
        assert _show(blob, capsys)[1] == out
    finally:
        shutil.rmtree(shared, ignore_errors=True)
