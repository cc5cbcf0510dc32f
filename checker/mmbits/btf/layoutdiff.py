"""What one release changed in a struct: the layout files' members vs a kernel's BTF.

`btf import` needs the differences as edits to the version-neutral data, not a
new copy: the spec tree's members that are live for the BTF's release and
.config are aligned with the BTF's members, level by level (a longest common
subsequence: fields match on name, type and bit width; blocks on their kind,
name and shared leaf names, then recurse). A live member the BTF lacks gets
`until: RELEASE`; a BTF member with no partner is a new item with
`since: RELEASE`, placed after the spec member before it. A type change is
both (the old form until, the new one since), as the data writes every other
change. Members that are not live (other releases, other configs) are never
touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mmbits.cexpr import ExprError
from mmbits.layout.model import Member
from mmbits.layout.spec import SpecNode


@dataclass
class Until:
    node: SpecNode
    path: str  # page.mapping, for the report


@dataclass
class Insert:
    items: list[Member]
    paths: list[str]
    after: SpecNode | None = None  # insert after this spec node ...
    before: SpecNode | None = None  # ... or before this one (the list's first)


@dataclass
class StructDiff:
    until: list[Until] = field(default_factory=list)
    inserts: list[Insert] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.until or self.inserts)


def _live(node: SpecNode, env: dict[str, Any]) -> bool:
    if node.cond is None:
        return True
    try:
        return bool(node.cond.truth(env))
    except ExprError:
        return False


def _norm(text: str) -> str:
    return " ".join(text.split())


def _leaves(m: Member) -> set[str]:
    return {str(x.name) for x in m.walk() if x.kind == "field" and x.name}


def _weight(ours: Member, theirs: Member) -> int:
    """How well two members match (0: not the same member)."""
    if ours.kind != theirs.kind:
        return 0
    if ours.kind == "field":
        same = ours.name == theirs.name and _norm(ours.type) == _norm(theirs.type) and \
            ours.bit_size == theirs.bit_size
        return 1 if same else 0
    if ours.name != theirs.name:
        return 0
    shared = len(_leaves(ours) & _leaves(theirs))
    return shared if shared or ours.name else 0


def _lcs(ours: tuple[Member, ...], theirs: tuple[Member, ...]) -> list[tuple[int, int]]:
    """Index pairs of the best order-preserving matching (weights summed)."""
    n, m = len(ours), len(theirs)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            w = _weight(ours[i], theirs[j])
            best[i][j] = max(best[i + 1][j], best[i][j + 1], best[i + 1][j + 1] + w if w else 0)
    pairs = []
    i = j = 0
    while i < n and j < m:
        w = _weight(ours[i], theirs[j])
        if w and best[i][j] == best[i + 1][j + 1] + w:
            pairs.append((i, j))
            i += 1
            j += 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def diff_members(spec_kids: list[SpecNode], ours: tuple[Member, ...], theirs: tuple[Member, ...],
                 env: dict[str, Any], where: str, out: StructDiff) -> None:
    """Edits that make the live `spec_kids` (resolved as `ours`) equal the BTF's `theirs`."""
    live = [n for n in spec_kids if _live(n, env)]
    if len(live) != len(ours) or any(n.name != m.name and n.kind == "field" for n, m in zip(live, ours, strict=False)):
        raise AssertionError(f"{where}: the resolved layout does not follow its spec")  # a resolver bug
    pairs = _lcs(ours, theirs)
    i = j = 0
    anchor: SpecNode | None = None
    for pi, pj in [*pairs, (len(ours), len(theirs))]:
        for k in range(i, pi):  # ours only: gone in this release
            out.until.append(Until(live[k], f"{where}.{_label(ours[k])}"))
            anchor = live[k]
        if j < pj:
            new = list(theirs[j:pj])
            out.inserts.append(Insert(new, [f"{where}.{_label(m)}" for m in new], after=anchor,
                                      before=None if anchor is not None else spec_kids[0]))
        if pi < len(ours):
            node, mine, btf = live[pi], ours[pi], theirs[pj]
            if mine.kind != "field":
                diff_members(node.children, mine.children, btf.children, env, f"{where}.{_label(mine)}", out)
            anchor = node
        i, j = pi + 1, pj + 1


def _label(m: Member) -> str:
    return str(m.name) if m.name else f"({m.kind})"


def spelling(type_text: str, preferred: dict[str, str]) -> str:
    """The BTF's type as the data files spell it (`long unsigned int` -> `unsigned long`)."""
    base, sep, rest = type_text.partition("*") if "*" in type_text else type_text.partition("[")
    word = base.strip()
    nicer = preferred.get(word)
    if nicer is None:
        return type_text
    return nicer + (" " if sep == "*" else "") + sep + rest if sep else nicer


def preferred_spellings(aliases: dict[str, list[str]]) -> dict[str, str]:
    """canonical -> the shorter C spelling of the same words (`long unsigned int` -> `unsigned long`)."""
    out = {}
    for canonical, akas in aliases.items():
        words = canonical.split()
        if words[0] not in ("long", "short"):  # pahole's size-first order only; `unsigned int` stays
            continue
        for aka in akas:
            aw = aka.split()
            if sorted(aw + ["int"]) == sorted(words):
                out[canonical] = aka
                break
    return out


def yaml_item(m: Member, preferred: dict[str, str], since: str | None) -> dict[str, Any]:
    """A BTF member as a layouts/ list item."""
    item: dict[str, Any]
    if m.kind == "field":
        item = {str(m.name): spelling(m.type, preferred)}
        if m.bit_size is not None:
            item["bits"] = m.bit_size
    else:
        item = {m.kind: [yaml_item(c, preferred, None) for c in m.children]}
        if m.name:
            item["name"] = m.name
    if since is not None:
        item["since"] = since
    return item
