"""`mmbits btf verify`: our declarative layouts, resolved for a .config, against the kernel's BTF.

One Finding per difference: a struct absent from the BTF, a member only one
side has (`missing-member` / `extra-member`; a member that only changed name
is one finding, not two), an offset/size/bitfield difference
(`layout-mismatch`), a type spelling difference (`type-mismatch`), an enum
constant that is missing, extra or has another value (`enum-mismatch`: page
flags with every alias, page types, pt_flags, slab_flags), and a size or
MATCH assert of match.yaml that the BTF's own sizes/offsets break.
Our layouts are for one kernel version; when the .config names another, a
`version-skew` finding says so first, with what the BTF shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmbits.btf.reader import Btf
from mmbits.btf.render import layout_of
from mmbits.btf.wire import ENUMS
from mmbits.findings import Finding
from mmbits.kconfig.config import Config
from mmbits.layout.model import Layout, Member

_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


@dataclass
class StructCheck:
    name: str
    ours: int | None  # sizeof in our layout
    btf: int | None  # sizeof in the BTF (None: absent)
    members: int = 0  # members compared
    differences: int = 0


@dataclass
class VerifyResult:
    btf: str
    config: str
    layouts: str
    kernel: str | None  # from the .config header
    release_note: str = ""  # how the modelled release was chosen
    structs: list[StructCheck] = field(default_factory=list)
    enums: dict[str, int] = field(default_factory=dict)  # enum -> constants compared
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "btf": self.btf,
            "config": self.config,
            "layouts": self.layouts,
            "kernel": self.kernel,
            "release": self.release_note,
            "structs": [{"struct": s.name, "size": s.ours, "btf_size": s.btf, "members": s.members,
                         "differences": s.differences} for s in self.structs],
            "enums": self.enums,
            "findings": [f.to_json() for f in self.findings],
        }

    def text(self) -> str:
        kernel = f" (Linux {self.kernel})" if self.kernel else ""
        out = [f"BTF {self.btf} vs layouts {self.layouts} resolved for {self.config}{kernel}"]
        if self.release_note:
            out.append(f"  release: {self.release_note}")
        for s in self.structs:
            if s.btf is None:
                out.append(f"  struct {s.name:<10} not in this BTF")
            else:
                state = "ok" if not s.differences else f"{s.differences} difference{'s' if s.differences != 1 else ''}"
                out.append(f"  struct {s.name:<10} {s.btf:4d} bytes, {s.members:3d} members compared: {state}")
        for name, n in self.enums.items():
            out.append(f"  enum {name:<12} {n:3d} constants compared")
        out.extend(f.line() for f in self.findings)
        n = len(self.findings)
        out.append(f"{n} finding{'s' if n != 1 else ''}" if n else "BTF and layouts agree")
        return "\n".join(out)


def _minor(version: str | None) -> tuple[int, int] | None:
    m = _VERSION.match(version or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _desc(m: Member) -> str:
    bits = f", bits {m.bit_offset}+{m.bit_size}" if m.bit_size is not None else ""
    return f"offset {m.offset}, size {m.size}{bits}, {m.type}"


def _same_place(a: Member, b: Member) -> bool:
    return (a.offset, a.size, a.bit_offset, a.bit_size) == (b.offset, b.size, b.bit_offset, b.bit_size)


def _norm(type_text: str) -> str:
    return " ".join(type_text.split())


def _arm_path(m: Member) -> tuple[int, ...]:
    """Which arm of each enclosing union the member sits in (union ids differ between layouts)."""
    return tuple(arm for _uid, arm in m.arms)


def _renamed(m: Member, e: Member) -> bool:
    """Same bytes, same place in the union structure: one member under two names."""
    return _same_place(m, e) and _arm_path(m) == _arm_path(e)


def compare_layouts(ours: Layout, theirs: Layout, label: str) -> tuple[list[Finding], int]:
    """Findings between our layout and the BTF's for one struct, and how many members were compared."""
    name = ours.struct
    found: list[Finding] = []
    if ours.size != theirs.size:
        found.append(Finding("layout-mismatch", f"sizeof(struct {name}) is {ours.size} in our layout, "
                             f"{theirs.size} in the BTF", label, name, data={"ours": ours.size, "btf": theirs.size}))
    mine = ours.by_name
    btf = theirs.by_name
    missing = [m for m in ours.members if m.name not in btf]
    extra = [m for m in theirs.members if m.name not in mine]
    renamed: dict[str, Member] = {}
    for m in missing:  # a member that only changed its name (and maybe type) is one difference
        for e in extra:
            if e not in renamed.values() and _renamed(m, e):
                renamed[str(m.name)] = e
                break
    taken = {str(e.name) for e in renamed.values()}
    for m in missing:
        btf_member = renamed.get(str(m.name))
        if btf_member is not None:
            retyped = f"; our type is {m.type}" if _norm(m.type) != _norm(btf_member.type) else ""
            found.append(Finding("missing-member", f"struct {name}: our member {m.name} is called {btf_member.name} "
                                 f"in the BTF ({_desc(btf_member)}{retyped})", label, f"{name}.{m.name}",
                                 data={"btf_name": btf_member.name, "btf_type": btf_member.type, "type": m.type}))
        else:
            found.append(Finding("missing-member", f"struct {name}: our member {m.name} ({_desc(m)}) is not in the BTF",
                                 label, f"{name}.{m.name}"))
    for e in extra:
        if str(e.name) not in taken:
            found.append(Finding("extra-member", f"struct {name}: the BTF has a member our layout lacks: "
                                 f"{e.name} ({_desc(e)})", label, f"{name}.{e.name}",
                                 data={"offset": e.offset, "size": e.size, "type": e.type}))
    compared = 0
    for m in ours.members:
        matched = btf.get(str(m.name))
        if matched is None:
            continue
        e = matched
        compared += 1
        if not _same_place(m, e):
            found.append(Finding("layout-mismatch", f"struct {name}.{m.name}: ours {_desc(m)}; BTF {_desc(e)}",
                                 label, f"{name}.{m.name}",
                                 data={"ours": m.to_json(), "btf": e.to_json()}))
        if _norm(m.type) != _norm(e.type):
            found.append(Finding("type-mismatch", f"struct {name}.{m.name}: type {m.type} in our layout, "
                                 f"{e.type} in the BTF", label, f"{name}.{m.name}",
                                 data={"ours": m.type, "btf": e.type}))
    return found, compared


def _our_enums(config: Config) -> dict[str, dict[str, int]]:
    """Every enum constant our data defines for this config: enum -> name -> value."""
    from mmbits.flags.data import load_flag_data
    from mmbits.flags.packing import compute

    data = load_flag_data()
    word = compute(config)
    bits = {f.name: f.bit for f in word.flags}
    out: dict[str, dict[str, int]] = {"pageflags": dict(bits)}
    out["pageflags"]["__NR_PAGEFLAGS"] = word.nr_pageflags
    # an alias is an enum constant whatever its validity condition (page-flags.h
    # defines them unconditionally); it cannot exist when its base flag does not
    for a in data.aliases:
        if a.base in bits and a.exists(config):
            out.setdefault(a.enum, {})[a.name] = bits[a.base]
    # enum pagetype exists from 6.12 (the top-byte encoding); before, page
    # types are #defines (PG_buddy ...) that BTF does not carry
    encoding = data.page_type_encoding(config)
    if encoding is not None and encoding.style == "top-byte":
        out["pagetype"] = {t.name: t.value for t in data.present_page_types(config)}
    return out


def compare_enums(btf: Btf, config: Config, label: str, counts: dict[str, int]) -> list[Finding]:
    found = []
    for enum, ours in _our_enums(config).items():
        ids = btf.find(enum, ENUMS)
        if not ids:
            found.append(Finding("enum-mismatch", f"enum {enum} is not in the BTF (our data has {len(ours)} constants: "
                                 f"{', '.join(list(ours)[:4])}{', ...' if len(ours) > 4 else ''})", label, enum))
            continue
        theirs = dict(btf.enum_values(ids[0]))
        counts[enum] = len(set(ours) | set(theirs))
        found.extend(_enum_diffs(enum, ours, theirs, label))
    return found


def _enum_diffs(enum: str, ours: dict[str, int], theirs: dict[str, int], label: str) -> list[Finding]:
    """Constants only one side has, and value differences.

    Inserting or removing a flag renumbers every flag after it; when the
    removed/added constants explain every changed value (the two orders agree
    once they are left out), the renumbered constants are named in the
    finding for the constant that caused them, not reported one by one.
    """
    only_ours = [n for n in ours if n not in theirs]
    only_theirs = [n for n in theirs if n not in ours]
    changed = [n for n in ours if n in theirs and ours[n] != theirs[n]]
    explained: dict[str, list[str]] = {}
    if changed and (only_ours or only_theirs):
        order_ours = [n for n in sorted(ours, key=lambda n: (ours[n], list(ours).index(n))) if n in theirs]
        order_theirs = [n for n in sorted(theirs, key=lambda n: (theirs[n], list(theirs).index(n))) if n in ours]
        if order_ours == order_theirs:
            def value(c: str) -> int:
                return ours[c] if c in ours else theirs[c]

            def unique(c: str) -> bool:  # an enumerator of its own, not an alias of another value
                side = ours if c in ours else theirs
                return list(side.values()).count(side[c]) == 1

            causes = [c for c in only_ours + only_theirs if unique(c)] or only_ours + only_theirs
            for n in changed:
                before = [c for c in causes if value(c) <= ours[n]]
                cause = max(before, key=value) if before else min(causes, key=value)
                explained.setdefault(cause, []).append(n)
    found = []

    def moved(cause: str) -> str:
        names = explained.get(cause, [])
        if not names:
            return ""
        listed = ", ".join(f"{n} {theirs[n]}" for n in names)
        return f"; so {len(names)} constant{'s' if len(names) != 1 else ''} after it renumber in the BTF: {listed}"

    for n in only_ours:
        found.append(Finding("enum-mismatch", f"enum {enum}: {n} = {ours[n]} in our data, not in the BTF{moved(n)}",
                             label, f"{enum}.{n}", data={"ours": ours[n], "renumbered": explained.get(n, [])}))
    folded = {n for names in explained.values() for n in names}
    for n in changed:
        if n not in folded:
            found.append(Finding("enum-mismatch", f"enum {enum}: {n} = {ours[n]} in our data, {theirs[n]} in the BTF",
                                 label, f"{enum}.{n}", data={"ours": ours[n], "btf": theirs[n]}))
    for n in only_theirs:
        found.append(Finding("enum-mismatch", f"enum {enum}: the BTF has {n} = {theirs[n]}, our data does not"
                             f"{moved(n)}", label, f"{enum}.{n}", data={"btf": theirs[n],
                                                                          "renumbered": explained.get(n, [])}))
    return found


def check_asserts(config: Config, btf_layouts: dict[str, Layout], label: str) -> list[Finding]:
    """match.yaml's size and MATCH asserts evaluated on the BTF's own sizes and offsets."""
    from mmbits.layout.registry import DESCRIPTORS, layout_env
    from mmbits.overlay import load_rules

    rules = load_rules()
    env: dict[str, Any] = dict(layout_env(config))
    found = []
    page = btf_layouts.get("page")
    for r in rules.match:
        desc = btf_layouts.get(r.desc)
        if page is None or desc is None or (r.cond is not None and not r.cond.truth(env)):
            continue
        pm, dm = page.by_name.get(r.page), desc.by_name.get(r.field)
        if pm is None or dm is None:
            continue  # a member the BTF lacks is reported as such already
        want = pm.offset + r.page_index * page.size
        if dm.offset != want:
            found.append(Finding("match-broken", f"{r.macro}({r.page}, {r.field}) does not hold in the BTF: "
                                 f"offsetof(struct {r.desc}, {r.field}) = {dm.offset}, page's {r.page} is at {want}",
                                 label, f"{r.desc}.{r.field}"))
    for name in DESCRIPTORS:
        env[f"sizeof_{name}"] = btf_layouts[name].size if name in btf_layouts else 0
    slab = btf_layouts.get("slab")
    freelist = slab.by_name.get("freelist") if slab is not None else None
    env["offsetof_slab_freelist"] = freelist.offset if freelist is not None else 0
    for s in rules.sizes:
        needs = [n for n in s.expr.symbols if n.startswith("sizeof_")]
        if any(n.removeprefix("sizeof_") not in btf_layouts for n in needs):
            continue
        if "offsetof_slab_freelist" in s.expr.symbols and freelist is None:
            continue
        if not s.expr.truth(env):
            sizes = ", ".join(f"{n}={env[n]}" for n in sorted(s.expr.symbols) if n.startswith(("sizeof_", "offsetof_")))
            found.append(Finding("size-assert", f"{s.expr.text} fails on the BTF's sizes ({sizes}); {s.source}",
                                 label, "sizeof"))
    return found


def _skew(dot_version: str | None, layouts_version: str, structs: list[StructCheck], label: str,
          differences: int) -> Finding | None:
    ours = _minor(layouts_version)
    theirs = _minor(dot_version)
    if ours is None or theirs is None or ours == theirs:
        return None
    absent = [s.name for s in structs if s.btf is None]
    evidence = f"{differences} differences below"
    if absent:
        evidence += f"; the BTF has no struct {', '.join(absent)}"
    return Finding("version-skew", f"our layouts are for {layouts_version}, this .config is for Linux {dot_version} "
                   f"({evidence}): expect what changed between the two kernels, not errors in either; "
                   f"drop --kernel to read it as its own release", label, None, severity="warning",
                   data={"layouts": layouts_version, "kernel": dot_version, "absent": absent})


def verify_btf(btf: Btf, config: Config, config_path: str | Path) -> VerifyResult:
    from mmbits.kconfig.dotconfig import parse_file
    from mmbits.kconfig.release import release_name
    from mmbits.layout.registry import DESCRIPTORS, layouts

    lset = layouts()
    label = config.label()
    report = VerifyResult(btf=btf.file, config=str(config_path), layouts=f"v{release_name(config.kernel)}",
                          kernel=parse_file(config_path).kernel_version)
    found: list[Finding] = []
    btf_layouts: dict[str, Layout] = {}
    for name in DESCRIPTORS:
        if name not in lset.specs:
            continue
        theirs = layout_of(btf, name)
        if not lset.exists(name, config):
            # the release has no such struct: fine if the BTF agrees
            if theirs is not None:
                btf_layouts[name] = theirs
                report.structs.append(StructCheck(name, None, theirs.size, differences=1))
                found.append(Finding("layout-mismatch", f"struct {name} is in the BTF ({theirs.size} bytes) but our "
                                     f"data says Linux {release_name(config.kernel)} has none "
                                     f"({lset.spec(name).span_note})", label, name))
            continue
        ours = lset.resolve(name, config)
        check = StructCheck(name, ours.size, theirs.size if theirs is not None else None)
        report.structs.append(check)
        if theirs is None:
            found.append(Finding("layout-mismatch", f"struct {name} is not in the BTF (our layout: {ours.size} bytes, "
                                 f"{len(ours.members)} members)", label, name))
            check.differences = 1
            continue
        btf_layouts[name] = theirs
        diffs, check.members = compare_layouts(ours, theirs, label)
        check.differences = len(diffs)
        found.extend(diffs)
    found.extend(compare_enums(btf, config, label, report.enums))
    found.extend(check_asserts(config, btf_layouts, label))
    skew = _skew(report.kernel, report.layouts, report.structs, label, len(found))
    report.findings = ([skew] if skew else []) + found
    return report


def pick_release(btf: Btf, config: Config, config_path: str | Path) -> VerifyResult:
    """Verify at the modelled release whose layouts and enums the BTF matches best.

    For a .config without a version header: the BTF itself says which
    release it is (struct members, enum pageflags). Releases whose data is
    identical for this kernel tie; the oldest of them is used and the tie said.
    """
    from mmbits.kconfig.model import load_model
    from mmbits.kconfig.release import release_name

    model = load_model()
    best: tuple[int, int, VerifyResult] | None = None
    scores: list[tuple[int, int]] = []
    for release in model.releases:
        cfg = model.make(dict(config.primary, VERSION=release), name=config.name)
        report = verify_btf(btf, cfg, config_path)
        n = len(report.findings)
        scores.append((n, release))
        if best is None or n < best[0]:
            best = (n, release, report)
    assert best is not None
    n, release, report = best
    tied = [r for s, r in scores if s == n]
    runner_up = min((s for s in scores if s[0] != n), default=None)
    note = f"Linux {release_name(release)} picked from the BTF (the .config has no version header): {n} difference(s)"
    if len(tied) > 1:
        note += f"; Linux {', '.join(release_name(r) for r in tied[1:])} fit as well"
    if runner_up is not None:
        note += f"; next best Linux {release_name(runner_up[1])} with {runner_up[0]}"
    report.release_note = note
    return report


VerifyReport = VerifyResult  # the name before results were called results
