"""decode/choicestore.py: the configs decode infers are kept on disk, a new process reads
them back instead of solving again, and what it reads back decodes exactly as what it
solved; an entry that is not one is a miss; MMBITS_CACHE=off writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from decode.dumps import DUMPS
from mmbits.cachedir import decode_entry, encode_entry
from mmbits.decode import choicestore
from mmbits.decode.api import decode_text
from mmbits.decode.infer import _choose
from mmbits.decode.render import render

# real reports of three kernels and two arches (sources in real/INDEX.md)
REPORTS = ("x86_64-6.13rc1-kasan-buddy-order10-no-page-owner.txt",
           "x86_64-6.1.129-syzbot-stable-kasan-slab-head-compound_mapcount.txt",
           "arm64-6.14rc2-kasan-swtags-pgtable-table.txt", "ppc32be-6.4rc3-pmacg4-pagealloc-corruption.txt")


def _text() -> str:
    parts = []
    for name in REPORTS:
        path = DUMPS / "real" / name
        parts.append("\n".join(ln for ln in path.read_text().splitlines() if not ln.startswith("#")))
    return "\n\n".join(parts) + "\n"


def _decoded() -> str:
    return "\n".join(render(d) for d in decode_text(_text()))


def _fresh_process() -> None:
    """What a new process knows: nothing solved in memory, the store read from disk again."""
    _choose.cache_clear()
    choicestore._BODIES.clear()
    choicestore._NEW.clear()


@pytest.fixture
def cache(private_cache: Path) -> Path:
    _fresh_process()
    yield private_cache
    _fresh_process()


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / choicestore.SUB).glob("*.data"))


def test_a_stored_config_decodes_as_the_solved_one(cache: Path) -> None:
    solved = _decoded()
    choicestore.save()
    assert len(_entries(cache)) == 1
    stored = decode_entry(_entries(cache)[0].read_bytes())["body"]
    assert len(stored) >= len(REPORTS)  # one answer per report at least (and per release tried)
    _fresh_process()
    read_back = _decoded()
    assert read_back == solved
    assert not choicestore._NEW  # nothing was solved again


def test_an_entry_of_the_wrong_shape_is_a_miss(cache: Path) -> None:
    solved = _decoded()
    choicestore.save()
    (entry,) = _entries(cache)
    doc = decode_entry(entry.read_bytes())
    for value in doc["body"].values():
        value["primary"] = "not a config"
    entry.write_bytes(encode_entry(doc))
    _fresh_process()
    assert _decoded() == solved
    assert choicestore._NEW  # solved again


def test_a_damaged_entry_is_a_miss(cache: Path) -> None:
    solved = _decoded()
    choicestore.save()
    (entry,) = _entries(cache)
    raw = bytearray(entry.read_bytes())
    raw[len(raw) // 2] ^= 0x55
    entry.write_bytes(bytes(raw))
    _fresh_process()
    assert _decoded() == solved
    assert choicestore._NEW  # solved again


def test_cache_off_writes_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMBITS_CACHE", "off")
    _decoded()
    choicestore.save()
    assert not _entries(cache)
