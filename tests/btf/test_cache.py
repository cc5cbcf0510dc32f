"""The index cache: keyed by the blob's hash, used on the second run, corruption ignored, optional."""

from __future__ import annotations

from pathlib import Path

import pytest

from btf.btfgen import sample
from pagebits.btf import cache, open_btf
from pagebits.btf.reader import Btf


def _blob(tmp_path: Path) -> Path:
    path = tmp_path / "s.btf"
    path.write_bytes(sample().blob())
    return path


def test_second_open_uses_the_cache(tmp_path: Path, btf_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _blob(tmp_path)
    first = open_btf(path)
    entries = list((btf_cache_dir / "btf").glob("*.idx"))
    assert [e.stem for e in entries] == [cache.blob_key(path.read_bytes())]

    def no_walk(self: Btf) -> None:
        raise AssertionError("walked although cached")

    monkeypatch.setattr(Btf, "_walk", no_walk)
    second = open_btf(path)
    assert list(second.offs) == list(first.offs) and second.find("demo") == first.find("demo")


@pytest.mark.parametrize("damage", [b"", b"garbage", None])
def test_corrupt_entry_is_ignored_and_rewritten(tmp_path: Path, btf_cache_dir: Path, damage: bytes | None) -> None:
    path = _blob(tmp_path)
    good = open_btf(path)
    entry = next((btf_cache_dir / "btf").glob("*.idx"))
    raw = entry.read_bytes()
    entry.write_bytes(raw[: len(raw) // 2] if damage is None else damage)
    again = open_btf(path)
    assert list(again.offs) == list(good.offs)
    assert entry.read_bytes() == raw  # rebuilt


def test_consistent_checksum_but_wrong_blob(tmp_path: Path, btf_cache_dir: Path) -> None:
    """An entry whose arrays do not fit the blob (e.g. copied by hand) is rejected, not trusted."""
    path = _blob(tmp_path)
    open_btf(path)
    entry = next((btf_cache_dir / "btf").glob("*.idx"))
    other = sample()
    other.int_("extra", 4)
    payload = Btf(other.blob(), "other").index_bytes()
    entry.write_bytes(cache.MAGIC + cache._digest(payload) + payload)
    assert open_btf(path).count == sample().count


def test_cache_off_and_unwritable(tmp_path: Path, btf_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _blob(tmp_path)
    monkeypatch.setenv("PAGEBITS_CACHE", "off")
    open_btf(path)
    assert not btf_cache_dir.exists()
    monkeypatch.delenv("PAGEBITS_CACHE")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache directory should go")
    monkeypatch.setenv("PAGEBITS_CACHE_DIR", str(blocker))
    assert open_btf(path).count == sample().count  # no cache, no error
    assert open_btf(path, use_cache=False).count == sample().count


def test_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PAGEBITS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "pagebits" / "btf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "pagebits" / "btf"


def test_cli_no_cache_flag(cli, tmp_path: Path, btf_cache_dir: Path) -> None:
    path = _blob(tmp_path)
    assert cli("btf", "show", "demo", "--btf", str(path), "--no-cache").code == 0
    assert not btf_cache_dir.exists()
    assert cli("btf", "show", "demo", "--btf", str(path)).code == 0
    assert btf_cache_dir.exists()
