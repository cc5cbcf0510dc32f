"""What one release changed in `enum pageflags`, as `since:`/`until:` edits of pageflags.yaml.

The flags live for a .config at a release are the `flags:` entries whose
`if:`/`since:`/`until:` hold, in file order (their enum values are their
positions). Against the BTF's enum (one name per value below __NR_PAGEFLAGS,
the first declared: aliases come after their flag), a flag the BTF lacks gets
`until: "R"` and a BTF flag the data lacks is inserted after its predecessor
with `since: "R"`; its policy and page kinds cannot come from BTF, so it gets
the loosest ones (PF_ANY, any kind) and a finding says to set them from
include/linux/page-flags.h. The edited file is read back and its live order
must be the BTF's, or nothing is written.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmbits.cexpr import Expr, ExprError
from mmbits.kconfig.release import guard
from mmbits.yamlio import LList, load_text


@dataclass
class FlagEdits:
    until: list[str] = field(default_factory=list)
    since: list[str] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (alias, "until"/"since"), base moved
    text: str | None = None  # the edited file, when it checks out
    problem: str = ""  # why nothing is written


def _live(text: str, name: str, env: dict[str, Any]) -> list[tuple[str, int]]:
    """(flag, line) of the `flags:` entries live for env, in file order."""
    doc = load_text(text, name)
    items: LList = doc["flags"]
    out = []
    for i, item in enumerate(items):
        (flag, spec), = item.items()
        cond = guard(dict(spec or {}))
        try:
            live = cond is None or Expr(cond).truth(env)
        except ExprError:
            live = False
        if live:
            out.append((str(flag), items.line_of(i)))
    return out


def btf_flag_order(values: list[tuple[str, int]]) -> list[str] | None:
    """The BTF's flags in value order (first name per value), or None without __NR_PAGEFLAGS."""
    nr = dict(values).get("__NR_PAGEFLAGS")
    if nr is None:
        return None
    first: dict[int, str] = {}
    for n, v in values:
        if v < nr and n != "__NR_PAGEFLAGS":
            first.setdefault(v, n)
    return [first[v] for v in sorted(first)]


def diff_flags(path: Path, env: dict[str, Any], values: list[tuple[str, int]], theirs: list[str], release: str,
               ours_check: list[str]) -> FlagEdits:
    """Edits of pageflags.yaml making its live flags at `env` equal `theirs` (the BTF's, from
    its enum `values`), and moving the aliases of a flag that ends to the flag now at their value."""
    from mmbits.btf.yamledit import YamlText

    text = path.read_text(encoding="utf-8")
    live = _live(text, str(path), env)
    ours = [n for n, _ in live]
    edits = FlagEdits()
    if ours != ours_check:  # the loader's view differs from this reading: do not guess
        edits.problem = "the flags data reads differently here than in the packing; not edited"
        return edits
    ed = YamlText(text, str(path))
    first_line = load_text(text, str(path))["flags"].line_of(0)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        for k in range(i1, i2):
            ed.add_key(live[k][1], "until", release, inner=True)
            edits.until.append(ours[k])
        if j2 > j1:
            items = [{n: {"since": release, "policy": "PF_ANY", "kinds": ["any"]}} for n in theirs[j1:j2]]
            if i2 > 0:
                ed.insert_items(items, after=live[i2 - 1][1], flow=None)
            else:
                ed.insert_items(items, before=first_line, flow=None)
            edits.since.extend(theirs[j1:j2])
    _move_aliases(ed, text, str(path), env, dict(values), theirs, set(edits.until), release, edits)
    if not ed.changed:
        return edits
    new = ed.result()
    got = [n for n, _ in _live(new, str(path), env)]
    if got != theirs:
        edits.problem = f"the edited flags read back as {got[:6]}..., not the BTF's order; not edited"
        edits.until, edits.since = [], []
        return edits
    edits.text = new
    return edits


def _plain(obj: Any) -> Any:
    """LDict/LList as plain dict/list, which the safe dumper represents."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def _move_aliases(ed: Any, text: str, name: str, env: dict[str, Any], btf: dict[str, int], theirs: list[str],
                  ended: set[str], release: str, edits: FlagEdits) -> None:
    """An alias whose base flag ends here ends too (`until:`); when the BTF still has it, a copy
    with the flag now at its value as base starts here (`since:`), as the data writes
    PG_anon_exclusive's move from PG_mappedtodisk to PG_owner_2."""
    if not ended:
        return
    doc = load_text(text, name)
    items: LList = doc.get("aliases") or LList()
    for i, item in enumerate(items):
        (alias, spec), = item.items()
        spec = _plain(spec or {})
        if spec.get("base") not in ended:
            continue
        span = guard({"since": spec.get("since"), "until": spec.get("until")})
        if span is not None and not Expr(span).truth(env):
            continue
        line = items.line_of(i)
        ed.add_key(line, "until", release, inner=True)
        edits.aliases.append((str(alias), "until"))
        value = btf.get(str(alias))
        if value is None or not 0 <= value < len(theirs):
            continue
        moved = {"base": theirs[value], "since": release,
                 **{k: v for k, v in spec.items() if k not in ("base", "since", "until")}}
        ed.insert_items([{str(alias): moved}], after=line, flow=None)
        edits.aliases.append((str(alias), "since"))
