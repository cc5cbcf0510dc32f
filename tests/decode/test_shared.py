"""Pages that differ only in their index word share one decode (decoder._decode_shared: the
shared decode copied, the word's fields read again from each page's word, render.py's text
with the word's lines put in). The text must be what decoding each page on its own gives,
also where a part of the word is its own field (pt_frag_refcount in arm64 v6.14's ptdesc)
and where that part holds a poison the decode names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from decode.dumps import DUMPS
from mmbits.decode import decoder, render
from mmbits.decode.api import decode_text
from mmbits.decode.data import load_dump_data

# a real arm64 v6.14 page-table page (source in real/INDEX.md): its index word is ptdesc's
# pt_index, whose low half is also pt_frag_refcount (include/linux/mm_types.h, v6.14)
REAL = DUMPS / "real" / "arm64-6.14rc2-kasan-swtags-pgtable-table.txt"
INDEX = 0x4DF000001772E000


def _variant(text: str, index: int) -> str:
    return text.replace(f"index:{INDEX:#x}", f"index:{index:#x}").replace(f"{INDEX:016x}", f"{index:016x}")


def _texts(log: str) -> list[str]:
    decoder._SHAPES.clear()
    render._TEMPLATES.clear()
    return [render.render(dec) for dec in decode_text(log)]


def test_pages_differing_in_their_index_word_read_as_each_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    body = "\n".join(ln for ln in REAL.read_text(encoding="utf-8").splitlines() if not ln.startswith("#"))
    magic = next(v for _name, v, _doc in load_dump_data().magic32)
    # the same page with other index values; in the last, pt_frag_refcount (the low half on
    # little-endian arm64) holds a 32-bit magic, which the decode names as a poison
    indices = [INDEX, INDEX + 1, INDEX + 0x1000, (INDEX & ~0xFFFFFFFF) | magic]
    log = "\n\n".join(_variant(body, i) for i in indices) + "\n"
    shared = _texts(log)
    assert len(shared) == len(indices)
    assert all(f"{i:016x}" in t for i, t in zip(indices, shared, strict=True))
    monkeypatch.setattr(decoder, "_plain_index", lambda *a, **k: None)  # every page decoded on its own
    alone = _texts(log)
    assert shared == alone
    assert shared[0] != shared[1]


_PAGE = re.compile(r"(page:.*index:)(0x[0-9a-f]+)")
_RAW = re.compile(r"(raw: )([0-9a-f]{8}|[0-9a-f]{16})")


def _with_index(body: str, k: int) -> str:
    """The report with its printed index and raw word 4 (the index word, 32- and 64-bit)
    both moved by k, as another page of the same kernel would print them."""
    out, seen = [], 0
    for line in body.splitlines():
        m = _PAGE.search(line)
        if m:
            line = line[:m.start(2)] + f"{int(m.group(2), 16) + k:#x}" + line[m.end(2):]
            seen = 0
        elif _RAW.search(line):
            start = line.index("raw: ") + 5
            tokens = line[start:].split()
            if seen <= 4 < seen + len(tokens):
                word = tokens[4 - seen]
                tokens[4 - seen] = f"{(int(word, 16) + k) & ((1 << (4 * len(word))) - 1):0{len(word)}x}"
                line = line[:start] + " ".join(tokens)
            seen += len(tokens)
        out.append(line)
    return "\n".join(out)


@pytest.mark.parametrize("path", sorted((DUMPS / "real").glob("*.txt")), ids=lambda p: p.stem[:40])
def test_every_real_report_with_other_index_values(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each real report and two more with other index values (where the raw words hold the
    printed index): the shared decodes' text is each page's own."""
    body = "\n".join(ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#"))
    if "head: " in body or not _PAGE.search(body):
        pytest.skip("a folio's pages (head: lines) or no page: line: the index word is not shared")
    log = "\n\n".join(_with_index(body, k) for k in (0, 1, 0x100)) + "\n"
    shared = _texts(log)
    monkeypatch.setattr(decoder, "_plain_index", lambda *a, **k: None)
    assert _texts(log) == shared
