"""Which data files are struct layouts, kept per content (mmbits.layout.structindex): a hit
loads only the struct files and finds the same ones; a damaged or foreign entry is a miss;
the key follows every file's bytes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from mmbits import yamlio
from mmbits.layout import registry, structindex
from mmbits.paths import layouts_root


@pytest.fixture
def dirs(private_cache: Path, tmp_path: Path) -> list[Path]:
    """A copy of the shipped kernel and memdesc layouts (a test may edit it)."""
    yamlio._CACHE.clear()
    out = []
    for name in ("kernel", "memdesc"):
        shutil.copytree(layouts_root() / name, tmp_path / "layouts" / name)
        out.append(tmp_path / "layouts" / name)
    yield out
    yamlio._CACHE.clear()


def _loaded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files yamlio.load_file is asked for from now on."""
    names: list[str] = []
    real = yamlio.load_file

    def load_file(path: Any) -> Any:
        names.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(yamlio, "load_file", load_file)
    return names


def _structs(dirs: list[Path]) -> list[str]:
    yamlio._CACHE.clear()
    return [p.name for p, _ in registry._struct_files(dirs)]


def _entries(private_cache: Path) -> list[Path]:
    return sorted((private_cache / structindex.SUB).glob("*.data"))


def test_a_hit_loads_only_the_struct_files(dirs: list[Path], private_cache: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = _loaded(monkeypatch)
    first = _structs(dirs)
    assert "page.yaml" in first and "kconfig.yaml" not in first
    assert "kconfig.yaml" in loaded and len(_entries(private_cache)) == 1  # a miss loads every file, then keeps
    loaded.clear()
    assert _structs(dirs) == first
    assert sorted(loaded) == sorted(first)  # kconfig.yaml, match.yaml ... not loaded


def test_a_damaged_entry_is_a_miss(dirs: list[Path], private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _structs(dirs)
    (entry,) = _entries(private_cache)
    raw = bytearray(entry.read_bytes())
    raw[-3] ^= 0xFF
    entry.write_bytes(bytes(raw))
    loaded = _loaded(monkeypatch)
    assert _structs(dirs) == first
    assert "kconfig.yaml" in loaded  # every file loaded again


@pytest.mark.parametrize("body", [{"structs": [0, 999]}, {"structs": [3, 1]}, {"structs": ["page.yaml"]},
                                  {"structs": None}, {}])
def test_an_entry_that_is_not_a_list_of_positions_is_a_miss(dirs: list[Path], body: dict[str, Any]) -> None:
    paths = sorted(dirs[0].glob("*.yaml"))
    key = structindex.key_of(paths)
    structindex.store(key, [1, 2])
    assert structindex.load(key, len(paths)) == [1, 2]
    from mmbits.cachedir import store_data

    store_data(structindex.SUB, key, structindex.MAGIC, "body", body)
    assert structindex.load(key, len(paths)) is None


def test_the_key_follows_every_file(dirs: list[Path]) -> None:
    paths = sorted(dirs[0].glob("*.yaml"))
    key = structindex.key_of(paths)
    assert key is not None and structindex.key_of(paths) == key
    match = dirs[0] / "match.yaml"
    match.write_text(match.read_text() + "\n# edited\n")
    assert structindex.key_of(paths) != key
    assert structindex.key_of(paths[:-1]) != structindex.key_of(paths)


def test_a_new_struct_file_is_found(dirs: list[Path]) -> None:
    first = _structs(dirs)
    shutil.copy(dirs[0] / "zpdesc.yaml", dirs[0] / "zz_copy.yaml")
    assert _structs(dirs) == [*first[:first.index("zpdesc.yaml") + 1], "zz_copy.yaml",
                              *first[first.index("zpdesc.yaml") + 1:]]


def test_off_keeps_nothing(dirs: list[Path], private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMBITS_CACHE", "off")
    assert structindex.key_of(sorted(dirs[0].glob("*.yaml"))) is None
    assert "page.yaml" in _structs(dirs)
    assert not _entries(private_cache)
