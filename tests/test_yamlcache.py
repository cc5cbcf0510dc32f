"""The parsed-YAML cache (mmbits.yamlcache): every shipped data file read back from it is
the document the parser makes, lines included, and an entry that is not one is a miss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mmbits import yamlcache, yamlio
from mmbits.cachedir import decode_entry, encode_entry
from mmbits.paths import layouts_root
from mmbits.yamlio import LDict, LList


def _same(a: Any, b: Any) -> bool:
    """Equal values, types and lines, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, LDict):
        return a.line == b.line and list(a) == list(b) and \
            all(a.line_of(k) == b.line_of(k) and _same(a[k], b[k]) for k in a)
    if isinstance(a, LList):
        return a.line == b.line and len(a) == len(b) and \
            all(a.line_of(i) == b.line_of(i) and _same(x, y) for i, (x, y) in enumerate(zip(a, b, strict=True)))
    return bool(a == b)


@pytest.fixture
def cache(private_cache: Path) -> Any:
    yamlio._CACHE.clear()
    yield private_cache / "yaml"
    yamlio._CACHE.clear()


def test_every_data_file_reads_back_as_parsed(cache: Path) -> None:
    files = sorted(layouts_root().rglob("*.yaml"))
    assert len(files) > 20
    for path in files:
        text = path.read_text()
        parsed = yamlio.load_text(text, path.name)
        key = yamlcache.key_of(text)
        assert yamlcache.load(key) is yamlcache.MISS
        yamlcache.store(key, parsed)
        back = yamlcache.load(key)
        assert back is not yamlcache.MISS and _same(back, parsed), path


def test_load_file_keeps_data_files_and_answers_alike(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = layouts_root() / "kernel" / "pageflags.yaml"
    first = yamlio.load_file(path)
    assert len(list(cache.iterdir())) == 1  # kept
    yamlio._CACHE.clear()
    monkeypatch.setattr("mmbits.yamlparse.parse", lambda text, name: pytest.fail("parsed again"))
    again = yamlio.load_file(path)
    assert _same(again, first)


def test_a_user_file_is_not_kept(cache: Path, tmp_path: Path) -> None:
    mine = tmp_path / "proposal.yaml"
    mine.write_text("expr: BIT(3)\nword: ptdesc.pt_flags\n")
    yamlio.load_file(mine)
    assert not cache.exists() or not list(cache.iterdir())


@pytest.mark.parametrize("damage", ["lines", "key", "unhashable", "not data", "digest", "a tuple"])
def test_an_entry_that_is_not_a_document_is_a_miss(cache: Path, damage: str) -> None:
    text = "a: 1\nb:\n  - x\n  - y\n"
    key = yamlcache.key_of(text)
    yamlcache.store(key, yamlio.load_text(text, "t.yaml"))
    (entry,) = cache.iterdir()
    raw = entry.read_bytes()
    doc = decode_entry(raw)
    top = doc["body"]["doc"]
    if damage == "lines":
        top["n"] = top["n"][:1]
    elif damage == "key":
        doc["key"] = "0" * 64
    elif damage == "unhashable":
        top["k"][0] = top["v"][1]
    elif damage == "a tuple":  # marshal can say more than the documents hold: not one of ours
        top["v"][0] = (1, 2)
    # "digest": a byte of the payload changed, so it is not what was written with its digest
    entry.write_bytes(b"{" if damage == "not data" else raw[:-1] + bytes([raw[-1] ^ 1]) if damage == "digest"
                      else encode_entry(doc))
    assert yamlcache.load(key) is yamlcache.MISS


def test_what_json_cannot_say_is_not_kept(cache: Path) -> None:
    text = "when: 2024-01-01\n"
    key = yamlcache.key_of(text)
    yamlcache.store(key, yamlio.load_text(text, "t.yaml"))
    assert yamlcache.load(key) is yamlcache.MISS
