"""The index cache: keyed by the blob's hash, used on the second run, corruption ignored, optional."""

from __future__ import annotations

from pathlib import Path

import pytest

from btf.btfgen import sample
from mmbits.btf import cache, open_btf
from mmbits.btf.reader import Btf


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
    entry.write_bytes(cache._entry(entry.stem, cache.MAGIC, payload))
    assert open_btf(path).count == sample().count


def test_cache_off_and_unwritable(tmp_path: Path, btf_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _blob(tmp_path)
    monkeypatch.setenv("MMBITS_CACHE", "off")
    open_btf(path)
    assert not btf_cache_dir.exists()
    monkeypatch.delenv("MMBITS_CACHE")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache directory should go")
    monkeypatch.setenv("MMBITS_CACHE_DIR", str(blocker))
    assert open_btf(path).count == sample().count  # no cache, no error
    assert open_btf(path, use_cache=False).count == sample().count


def test_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MMBITS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "mmbits" / "btf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "mmbits" / "btf"


def test_cli_no_cache_flag(cli, tmp_path: Path, btf_cache_dir: Path) -> None:
    path = _blob(tmp_path)
    assert cli("btf", "show", "demo", "--btf", str(path), "--no-cache").code == 0
    assert not btf_cache_dir.exists()
    assert cli("btf", "show", "demo", "--btf", str(path)).code == 0
    assert btf_cache_dir.exists()


# -- the `btf show` output cache ----------------------------------------------------------------

def _show(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    from mmbits.main import _fast_btf_show

    assert _fast_btf_show(["demo", "--btf", str(path), *extra]) == 0
    return capsys.readouterr().out


def _no_render(monkeypatch: pytest.MonkeyPatch) -> None:
    import mmbits.btf.render as render

    def boom(*_a: object, **_k: object) -> str:
        raise AssertionError("rendered although the output was cached")

    monkeypatch.setattr(render, "to_text", boom)
    monkeypatch.setattr(render, "to_json", boom)


def test_show_output_is_cached_per_query_and_options(tmp_path: Path, btf_cache_dir: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = _blob(tmp_path)
    text, js = _show(path, capsys), _show(path, capsys, "--json")
    assert "struct demo {" in text and js.lstrip().startswith("{")
    assert len(list((btf_cache_dir / "btf").glob("*.out"))) == 2
    _no_render(monkeypatch)
    assert _show(path, capsys) == text and _show(path, capsys, "--json") == js


@pytest.mark.parametrize("damage", [b"", b"garbage", None])
def test_corrupt_output_entry_is_ignored(tmp_path: Path, btf_cache_dir: Path, capsys: pytest.CaptureFixture[str],
                                         damage: bytes | None) -> None:
    path = _blob(tmp_path)
    text = _show(path, capsys)
    entry = next((btf_cache_dir / "btf").glob("*.out"))
    raw = entry.read_bytes()
    entry.write_bytes(raw[:-3] if damage is None else damage)
    assert _show(path, capsys) == text
    assert entry.read_bytes() == raw


def test_output_cache_follows_code_and_can_be_off(tmp_path: Path, btf_cache_dir: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = _blob(tmp_path)
    _show(path, capsys)
    monkeypatch.setattr(cache, "code_stamp", lambda: "another version of the renderer")
    _show(path, capsys)
    assert len(list((btf_cache_dir / "btf").glob("*.out"))) == 2  # new code, new entry
    monkeypatch.setenv("MMBITS_OUTPUT_CACHE", "off")
    other = tmp_path / "other.btf"
    blob = sample()
    blob.int_("extra", 4)
    other.write_bytes(blob.blob())
    _show(other, capsys)
    assert len(list((btf_cache_dir / "btf").glob("*.out"))) == 2
    assert len(list((btf_cache_dir / "btf").glob("*.idx"))) == 2  # the index cache still works
