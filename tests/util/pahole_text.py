"""Parse the pahole text shipped beside each BTF blob (the test oracle).

pahole prints one leaf line per named member with `/* offset size */` (or
`/* offset: bit size */` for bitfields); nested anonymous unions/structs are
brace blocks. We return, per struct, the leaf members in declaration order.
"""

from __future__ import annotations

import re
from pathlib import Path

_LEAF = re.compile(
    r"^(?P<decl>.+?)\s*;\s*/\*\s*(?P<off>\d+)(?::\s*(?P<bit>\d+))?\s+(?P<size>\d+)\s*\*/"
)
_NAME = re.compile(r"^(?P<type>.*?)\s*\b(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<dims>(\[\d+\])*)\s*(?::\s*(?P<bits>\d+))?$")


def parse(path: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    current = None
    depth = 0
    for line in path.read_text().splitlines():
        s = line.strip()
        m = re.match(r"^(struct|union|enum) (\w+) \{$", s)
        if m and depth == 0:
            current = {"kind": m.group(1), "name": m.group(2), "members": [], "size": None, "enum": {}}
            out[m.group(2) if m.group(1) != "enum" else f"enum {m.group(2)}"] = current
            depth = 1
            continue
        if current is None:
            continue
        if s.endswith("{"):
            depth += 1
            continue
        if s.startswith("}"):
            depth -= 1
            if depth == 0:
                current = None
            continue
        size = re.search(r"/\* size: (\d+)", s)
        if size:
            current["size"] = int(size.group(1))
            continue
        if current["kind"] == "enum":
            em = re.match(r"^(\w+) = (-?\d+),?$", s)
            if em:
                current["enum"][em.group(1)] = int(em.group(2))
            continue
        lm = _LEAF.match(s)
        if not lm:
            continue
        nm = _NAME.match(lm.group("decl"))
        if not nm:
            continue
        ctype = " ".join(nm.group("type").split())
        member = {
            "name": nm.group("name"),
            "offset": int(lm.group("off")),
            "size": int(lm.group("size")),
            "type": ctype + (nm.group("dims") or ""),
        }
        if nm.group("bits"):
            member["bit_offset"] = int(lm.group("bit") or 0)
            member["bit_size"] = int(nm.group("bits"))
        current["members"].append(member)
    return out
