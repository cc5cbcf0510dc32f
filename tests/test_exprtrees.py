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
