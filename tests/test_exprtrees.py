"""The data expressions' tree store (mmbits.expression.treestore): a kept tree is the tree
the parser makes of its text, and an entry that is not one is a miss."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mmbits.cachedir import decode_entry, encode_entry
from mmbits.expression import treestore
from mmbits.expression.syntax import parse_tree

TEXTS = ["MEMCG && !KMSAN", "X86_LA57 ? 52 : 46", "order_base_2(NR_CPUS)", "VERSION >= 6.15",
         'ARCH == "x86_64"', "BIT(PG_head) | (1UL << 3)"]


@pytest.fixture
def store(private_cache: Path) -> Iterator[Path]:
    treestore._kept, saved = None, treestore._kept
    treestore._new.clear()
    yield private_cache / treestore.SUB
    treestore._kept = saved
    treestore._new.clear()


def _fresh() -> None:
    """What a new process sees: nothing read yet, nothing new."""
    treestore._kept = None
    treestore._new.clear()


def test_kept_trees_are_the_parsers(store: Path) -> None:
    for text in TEXTS:
        assert treestore.tree(text) is None
        treestore.keep(text, parse_tree(text))
    treestore.save()
    _fresh()
    assert all(treestore.tree(text) == parse_tree(text) for text in TEXTS)


@pytest.mark.parametrize("damage", ["digest", "not a tree", "a list", "too deep", "key"])
def test_an_entry_that_is_not_trees_is_a_miss(store: Path, damage: str) -> None:
    treestore.keep(TEXTS[0], parse_tree(TEXTS[0]))
    treestore.save()
    (entry,) = store.iterdir()
    raw = entry.read_bytes()
    doc = decode_entry(raw)
    trees = doc["body"]["trees"]
    if damage == "digest":  # a byte of the payload changed: not what was written with its digest
        entry.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    else:
        if damage == "not a tree":
            trees[TEXTS[0]] = ("sym", 1.5, (), 0, 0, "")
        elif damage == "a list":
            trees[TEXTS[0]] = list(trees[TEXTS[0]])
        elif damage == "too deep":
            row: tuple[object, ...] = ("sym", "X", (), 0, 1, "X")
            for _ in range(treestore.MAX_DEPTH + 1):
                row = ("un", "!", (row,), 0, 1, "!X")
            trees[TEXTS[0]] = row
        else:
            doc["key"] = "0" * 64
        entry.write_bytes(encode_entry(doc))
    _fresh()
    assert treestore.tree(TEXTS[0]) is None


def test_type_sizes_come_from_the_store(store: Path) -> None:
    """types.yaml's size and align expressions are parse()'s (one Expr per text, the tree
    read back from the store), so a process with a warm store tokenizes none of them."""
    from mmbits.cexpr import parse
    from mmbits.layout.ctypes import load_types
    from mmbits.paths import DEFAULT_KERNEL, version_dir

    path = version_dir(DEFAULT_KERNEL) / "types.yaml"
    parse.cache_clear()  # (an earlier test in this process may hold the trees from another store)
    load_types.cache_clear()
    table = load_types(path)
    info = table.infos["long int"]
    assert info.size is parse(info.size.text) and info.align is parse(info.align.text)
    treestore.save()
    _fresh()
    parse.cache_clear()
    load_types.cache_clear()
    tokenized: list[str] = []
    from mmbits.expression import syntax

    real = syntax.tokenize
    syntax.tokenize = lambda text: tokenized.append(text) or real(text)  # type: ignore[assignment]
    try:
        load_types(path)
    finally:
        syntax.tokenize = real
        load_types.cache_clear()
    assert tokenized == []
