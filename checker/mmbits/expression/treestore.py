"""The syntax trees of the data files' expressions kept on disk, so a new process does not
tokenize and parse them again.

Every `check` loads ~250 distinct expression texts (Kconfig rules and derived symbols,
flag conditions, masks, page-type ranges); parsing them was ~5% of a new question's
instructions, and rebuilding a kept tree costs a fraction of that. A tree is a function of
its text and the code, so one entry per code stamp and layouts data set
(`cachedir.entry_name`) holds every tree the shipped and user data files made, as nested
plain tuples (`Node`'s fields, `args` nested) in `cachedir.store_data`'s format; new ones are
written once, when the process exits. Only trees at most `MAX_DEPTH` deep are kept, so
rebuilding one never nests deeply; an entry whose trees are not such tuples is a miss as a
whole. `compiled.parse` (the data files' evaluator) is the only user: a proposal's or a
patch's expression is never kept. MMBITS_CACHE=off turns it off.
"""

from __future__ import annotations

from typing import Any

from mmbits.expression.syntax import Node

MAGIC = "mmbits-expr-trees 1"
SUB = "exprs"
MAX_ENTRY_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 40
_kept: dict[str, Node] | None = None
_new: dict[str, Node] = {}


def _entry() -> str | None:
    from mmbits.cachedir import entry_name

    return entry_name(SUB, "expression trees")


def tree(text: str) -> Node | None:
    """The kept tree of `text`, or None."""
    global _kept
    if _kept is None:
        _kept = _load()
    return _kept.get(text)


def keep(text: str, node: Node) -> None:
    """Remember a tree this process parsed (at most MAX_DEPTH deep: the caller checks), for its exit."""
    from mmbits.cachedir import save_at_exit

    _new[text] = node
    save_at_exit(save)


def save() -> None:
    """Write the trees this process parsed, merged with what the entry holds."""
    global _kept
    if not _new:
        return
    from mmbits.cachedir import store_data

    key = _entry()
    trees = {**(_kept if _kept is not None else _load()), **_new}
    store_data(SUB, key, MAGIC, "body", {"trees": {t: _plain(n) for t, n in trees.items()}})
    _kept = trees
    _new.clear()


def _load() -> dict[str, Node]:
    from mmbits.cachedir import load_data

    body = load_data(SUB, _entry(), MAGIC, "body", MAX_ENTRY_BYTES)
    rows = body.get("trees") if body is not None else None
    if not isinstance(rows, dict):
        return {}
    try:
        return {text: _node(row, 1) for text, row in rows.items() if type(text) is str}
    except (TypeError, ValueError):
        return {}


def _plain(node: Node) -> tuple[Any, ...]:
    return (node.op, node.value, tuple(_plain(a) for a in node.args), node.pos, node.end, node.text)


def _node(row: Any, depth: int) -> Node:
    """A kept tree back, every field checked; ValueError if it is not one."""
    if type(row) is not tuple or len(row) != 6 or depth > MAX_DEPTH:
        raise ValueError("not a kept tree")
    op, value, args, pos, end, text = row
    if type(op) is not str or type(value) not in (int, str, type(None)) or type(args) is not tuple \
            or type(pos) is not int or type(end) is not int or type(text) is not str:
        raise ValueError("not a kept tree")
    return Node(op, value, tuple(_node(a, depth + 1) for a in args), pos, end, text)
