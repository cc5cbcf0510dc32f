"""Raw-only decoding: only the raw:/head: words of each real report, plus what a user
knows (--kernel, --arch, --bits, --endian, typed from tests/data/dumps/real/INDEX.md),
must reproduce what the kernel itself printed next to them: refcount, mapcount,
mapping, index, the page_type name and the head: line's fields (and the flag names
where the kernel's enum pageflags is the model's)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmbits.decode.api import decode_text
from mmbits.decode.kernelfmt import looks_hashed

REAL = Path(__file__).resolve().parents[1] / "data" / "dumps" / "real"
WORDS = re.compile(r"\b(raw|head): ((?:[0-9a-f]{8}|[0-9a-f]{16})(?: (?:[0-9a-f]{8}|[0-9a-f]{16}))*)\s*$")
PAGE = re.compile(r"page: ?(?:[0-9a-f]+ |\(ptrval\) )?refcount:(-?\d+) mapcount:(-?\d+) mapping:(\S+) index:(0x[0-9a-f]+)")
PAGE_TYPE = re.compile(r"page_type: (?:0x)?([0-9a-f]+)\(([a-z_]*)\)")
FLAGS = re.compile(r"flags: 0x[0-9a-f]+\(([^)]*)\)")
HEAD = re.compile(r"head: ?(?:[0-9a-f]{8,16} )?order:(\d+) (.*)$")
ARCH = {"x86_64": "x86_64", "arm": "arm32", "arm64": "arm64", "powerpc32": "powerpc32", "riscv64": "riscv64",
        "s390x": "s390x", "parisc": "parisc32", "i386": "i386", "riscv": "riscv32", "ppc64": "powerpc64",
        "um": "um"}


def _index() -> dict[str, tuple[str | None, str, int, str | None]]:
    out = {}
    for line in (REAL / "INDEX.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if len(cells) < 5 or not cells[0].endswith(".txt"):
            continue
        kernel = re.match(r"(\d+\.\d+\S*)", cells[1])  # the whole release: a -next tree is the next one
        arch = ARCH[cells[2].split()[0]]
        endian = {"LE": "little", "BE": "big"}.get(cells[4])
        out[cells[0]] = (kernel.group(1) if kernel else None, arch, int(cells[3]), endian)
    return out


INDEX = _index()


def _first_dump(text: str) -> tuple[str, dict[str, object]]:
    """The first dump's raw:/head: word lines and what the kernel printed for it."""
    words: list[str] = []
    printed: dict[str, object] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if "page dumped because" in line and words:
            break
        m = PAGE.search(line)
        if m and "refcount" not in printed:
            printed.update(refcount=int(m.group(1)), mapcount=int(m.group(2)), mapping=m.group(3),
                           index=int(m.group(4), 16))
        if (m := PAGE_TYPE.search(line)) and "page_type" not in printed:
            printed["page_type"] = m.group(2)
        if (m := FLAGS.search(line)) and "flags" not in printed:
            printed["flags"] = [t for t in m.group(1).split("|") if t and "=" not in t]
        if (m := HEAD.search(line)) and "head" not in printed:
            printed["head"] = {k: int(v) for k, v in re.findall(r"(\w+):(-?\d+)", "order:" + m.group(1) + " "
                                                                  + m.group(2))}
        if m := WORDS.search(line):
            words.append(f"{m.group(1)}: {m.group(2)}")
    return "\n".join(words), printed


@pytest.mark.parametrize("name", sorted(INDEX))
def test_raw_words_reproduce_what_the_kernel_printed(name):
    kernel, arch, bits, endian = INDEX[name]
    words, printed = _first_dump((REAL / name).read_text(encoding="utf-8"))
    (dec, *_r) = decode_text(words, kernel=kernel, arch=arch, bits=bits,
                             big=None if endian is None else endian == "big")
    exp = dec.expected
    assert exp["refcount"] == printed["refcount"]
    assert exp["mapcount"] == printed["mapcount"]
    if dec.is_tail:  # a tail page prints the folio's index plus its own page number
        order = int(printed.get("head", {}).get("order", exp.get("head", {}).get("order", 0)))  # type: ignore[union-attr]
        assert 0 <= int(printed["index"]) - exp["index"] < 1 << order  # type: ignore[call-overload]
    else:
        assert exp["index"] == printed["index"]
    mapping = str(printed["mapping"])
    if mapping not in ("(null)",) and not looks_hashed(mapping, int(exp["mapping"] or "0", 16), bits):
        assert int(mapping, 16) == int(exp["mapping"], 16)
    if "page_type" in printed and printed["page_type"]:
        assert (exp.get("page_type") or "").endswith(f"({printed['page_type']})") or \
            dec.kind == {"buddy": "buddy", "table": "pgtable", "slab": "slab"}.get(str(printed["page_type"]))
    if "head" in printed and "head" in exp:
        for key, value in printed["head"].items():  # type: ignore[union-attr]
            if key in exp["head"]:
                assert exp["head"][key] == value, key
    if "flags" in printed:
        assert dec.word is not None
        from mmbits.decode.data import load_dump_data
        from mmbits.decode.kernelfmt import pgp_parts

        names, _fields = pgp_parts(dec.page.values["flags"] if dec.head is None else
                                   dec.head.values["flags"], dec.word, load_dump_data())
        assert names == printed["flags"]
