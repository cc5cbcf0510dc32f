"""`mmbits btf import`: layout YAML for a new kernel, written from its BTF.

BTF describes one build: a member an `#ifdef` removed is simply absent, and
no `if:` condition can be read from it. So the import (1) writes every
member the BTF has, in the layouts/ format; (2) carries `if:`, `note:` and
`arm:` over from the shipped layouts of a known version for members (and
blocks) with the same name and type, marked `# from v6.18`; (3) carries
members the BTF lacks but the shipped layout has under an `if:` (they are
probably just configured out), marked `# not in this BTF`; and says all of
this in the generated header, because every condition needs a human review.
The enums (pageflags with its aliases, pt_flags, pagetype) are written the
same way. Every file is checked to load with the layout loader before
anything is written, and written atomically.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmbits.btf.reader import Btf
from mmbits.btf.render import layout_of
from mmbits.btf.wire import ENUMS
from mmbits.errors import InputError
from mmbits.layout.model import Layout, Member

if TYPE_CHECKING:
    from mmbits.layout.spec import SpecNode

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_ *\[\]]*$")
_PLAIN_FLOW = re.compile(r"^[A-Za-z_][A-Za-z0-9_ *]*$")


# BTF names are hostile input: a member or enum constant is written into YAML as a key,
# so only C identifiers (C11 6.4.2.1, ASCII; 128 characters is far past any kernel name)
# are accepted, and every refused name is reported instead of written
_C_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def is_c_identifier(name: str) -> bool:
    return _C_IDENT.fullmatch(name) is not None


def _bad_member_names(members: tuple[Member, ...] | list[Member]) -> list[str]:
    bad: list[str] = []
    stack = list(members)
    while stack:
        m = stack.pop()
        if m.name and not is_c_identifier(m.name):
            bad.append(m.name)
        stack.extend(m.children)
    return bad


def _refused(names: list[str]) -> str:
    from mmbits.errors import clip

    shown = ", ".join(json.dumps(clip(n, 40)) for n in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _q(text: str, flow: bool = False) -> str:
    """A YAML scalar: plain when safe, else a JSON (= YAML double-quoted) string."""
    ok = _PLAIN_FLOW if flow else _PLAIN
    if ok.match(text) and text.strip() == text and text.lower() not in ("yes", "no", "true", "false", "null", "on",
                                                                            "off", "y", "n"):
        return text
    return json.dumps(text)


@dataclass
class Written:
    path: str
    what: str
    carried: int = 0  # conditions carried over
    absent: int = 0  # conditional members kept although the BTF lacks them
    new: int = 0  # members/constants with nothing to carry (review)


@dataclass
class ImportResult:
    btf: str
    out: str
    like: str
    files: list[Written] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"btf": self.btf, "out": self.out, "like": self.like,
                "files": [vars(f) for f in self.files], "skipped": self.skipped, "warnings": self.warnings}

    def text(self) -> str:
        out = [f"imported {self.btf} into {self.out} (conditions carried over from {self.like})"]
        for f in self.files:
            out.append(f"  wrote {f.path}: {f.what}; {f.carried} conditions carried, {f.absent} conditional members "
                       f"kept from {self.like}, {f.new} new (review)")
        out.extend(f"  skipped {s}" for s in self.skipped)
        out.extend(f"  warning: {w}" for w in self.warnings)
        out.append("BTF knows one config only: review every `if:` before using these files.")
        return "\n".join(out)


def _header(what: str, btf: Btf, like: str, extra: str = "") -> list[str]:
    return [
        f"# {what}, imported from the BTF {Path(btf.file).name} by `mmbits btf import`.",
        "# BTF describes ONE build of this kernel: members an #ifdef removed from that",
        "# build are absent, and no `if:` condition can be known from BTF.",
        f"# `if:`/`note:` marked `# from {like}` were carried over from the shipped {like}",
        "# layouts for the member of the same name and type; members marked",
        f"# `# not in this BTF` are {like} members under an `if:` this build lacks.",
        "# REVIEW EVERY CONDITION before using this file.",
    ] + ([extra] if extra else [])


# -- struct layouts ---------------------------------------------------------

class _StructWriter:
    def __init__(self, spec: Any, like: str, env: dict[str, Any] | None):
        self.like = like
        self.spec = spec  # the shipped LayoutSpec of the same struct, or None
        self.env = env  # the config's layout environment when --config was given
        self.stats = Written("", "")

    def holds(self, node: SpecNode) -> bool | None:
        """Whether a carried condition is true for --config (None: no config to tell)."""
        if self.env is None or node.cond is None:
            return None
        from mmbits.cexpr import ExprError

        try:
            return node.cond.truth(self.env)
        except ExprError:
            return None

    def match(self, shipped: list[Any], m: Member) -> Any:
        """The shipped spec node for this member: same name and type, or the block with the same leaves."""
        if m.kind == "field":
            for node in shipped:
                if node.kind == "field" and node.name == m.name and node.type is not None and \
                        " ".join(node.type.text.split()) == " ".join(m.type.split()):
                    return node
            for node in shipped:
                if node.kind == "field" and node.name == m.name:
                    return node
            return None
        leaves = {leaf.name for leaf in m.leaves()}
        best, score = None, 0
        for node in shipped:
            if node.kind != m.kind:
                continue
            names = {n.name for n in node.walk() if n.kind == "field" or (n is not node and n.name)}
            common = len(leaves & names)
            if common > score:
                best, score = node, common
        return best

    def members(self, children: tuple[Member, ...], shipped: list[Any], indent: int, lines: list[str]) -> None:
        used: dict[int, int] = {}  # id(shipped node) -> index in `children`
        matched: list[Any] = []
        for i, m in enumerate(children):
            node = self.match([n for n in shipped if id(n) not in used], m)
            if node is not None:
                used[id(node)] = i
            matched.append(node)
        # shipped members under an `if:` that this build lacks (probably configured
        # out): keep them, placed after the shipped member before them
        after: dict[int, list[Any]] = {}
        prev = -1
        for node in shipped:
            if id(node) in used:
                prev = used[id(node)]
            elif node.cond is not None and node.kind == "field" and self.holds(node) is not True:
                # with --config, a member whose condition holds yet is absent is gone from this kernel
                after.setdefault(prev, []).append(node)
        for node in after.get(-1, []):
            self.absent(node, indent, lines)
        for i, (m, node) in enumerate(zip(children, matched, strict=True)):
            self.member(m, node, indent, lines)
            for extra in after.get(i, []):
                self.absent(extra, indent, lines)

    def absent(self, node: Any, indent: int, lines: list[str]) -> None:
        spelled = node.type_text or (node.type.text if node.type is not None else "")
        bits = f", bits: {node.bits.text}" if node.bits is not None else ""
        lines.append(f"{'  ' * indent}- {{{node.name}: {_q(spelled, True)}{bits}, if: {_q(node.cond.text, True)}}}"
                     f"  # not in this BTF; from {self.like}, review")
        self.stats.absent += 1

    def extras(self, node: Any, pad: str, lines: list[str]) -> None:
        if node is None:
            return
        if node.cond is not None and self.holds(node) is False:
            lines.append(f"{pad}  # {self.like} had `if: {node.cond.text}`, false for --config: dropped, review")
        elif node.cond is not None:
            lines.append(f"{pad}  if: {_q(node.cond.text)}  # from {self.like}")
            self.stats.carried += 1
        if node.note:
            lines.append(f"{pad}  note: {_q(node.note)}")
        if node.arm:
            lines.append(f"{pad}  arm: {_q(node.arm)}")

    def member(self, m: Member, node: Any, indent: int, lines: list[str]) -> None:
        pad = "  " * indent
        if m.kind == "field":
            if m.bit_size is not None:
                lines.append(f"{pad}- {{{m.name}: {_q(m.type, True)}, bits: {m.bit_size}}}")
                if node is not None and (node.cond is not None or node.note):
                    lines[-1] = lines[-1][:-1] + self.flow_extras(node) + "}"
            else:
                lines.append(f"{pad}- {m.name}: {_q(m.type)}")
                self.extras(node, pad, lines)
            if node is None:
                self.stats.new += 1
            return
        if "[" in m.type:
            raise InputError(f"member {m.name}: an array of an anonymous {m.kind} cannot be written as a layout")
        lines.append(f"{pad}- {m.kind}:")
        self.members(m.children, list(node.children) if node is not None else [], indent + 2, lines)
        if m.name:
            lines.append(f"{pad}  name: {m.name}")
        self.extras(node, pad, lines)

    def flow_extras(self, node: Any) -> str:
        out = ""
        if node.cond is not None and self.holds(node) is not False:
            out += f", if: {_q(node.cond.text, True)}"
            self.stats.carried += 1
        if node.note:
            out += f", note: {_q(node.note, True)}"
        return out

    def write(self, layout: Layout, btf: Btf) -> str:
        spec = self.spec
        lines = _header(f"struct {layout.struct}", btf, self.like,
                        f"# sizeof(struct {layout.struct}) in this BTF: {layout.size}")
        lines.append(f"struct: {layout.struct}")
        lines.append(f"kernel: {_q(Path(btf.file).name)}")
        lines.append("generated: true")
        if spec is not None:
            if spec.overlays:
                lines.append(f"overlays: {spec.overlays}")
            if spec.doc:
                lines.append(f"doc: {_q(spec.doc)}")
            if spec.root.align is not None:
                lines.append(f"align: {_q(spec.root.align.text)}  # from {self.like}: BTF records no alignment")
        lines.append("members:")
        self.members(layout.root.children, list(spec.root.children) if spec is not None else [], 1, lines)
        return "\n".join(lines) + "\n"


# -- enums --------------------------------------------------------------------

def _entry(name: str, spec: dict[str, Any] | None, fallback: dict[str, Any], keys: tuple[str, ...]) -> str:
    src = dict(fallback)
    if spec:
        for k in keys:
            if k in spec:
                src[k] = spec[k]
    parts = []
    for k, v in src.items():
        if isinstance(v, (list, tuple)):
            parts.append(f"{k}: [{', '.join(_q(str(x), True) for x in v)}]")
        elif isinstance(v, int) and not isinstance(v, bool):
            parts.append(f"{k}: {v:#x}" if k == "value" else f"{k}: {v}")
        else:
            parts.append(f"{k}: {_q(str(v), True)}")
    return f"  - {name}: {{{', '.join(parts)}}}"


def _shipped_entries(doc: Any, key: str) -> dict[str, dict[str, Any]]:
    out = {}
    for item in (doc.get(key) or []) if doc else []:
        if isinstance(item, dict) and len(item) == 1:
            (name, spec), = item.items()
            out[str(name)] = dict(spec or {})
    return out


def _enum(btf: Btf, name: str, refused: list[str] | None = None) -> list[tuple[str, int]] | None:
    """The constants of enum `name`; names that are not C identifiers go to `refused`."""
    ids = btf.find(name, ENUMS)
    if not ids:
        return None
    values = btf.enum_values(ids[0])
    good = [(n, v) for n, v in values if is_c_identifier(n)]
    if refused is not None:
        refused.extend(n for n, _v in values if not is_c_identifier(n))
    return good


def _pageflags_yaml(btf: Btf, like: str, shipped: Any, shipped_pt: Any, stats: Written) -> str:
    import yaml

    values = _enum(btf, "pageflags")
    assert values is not None
    nr = dict(values).get("__NR_PAGEFLAGS")
    if nr is None:
        raise InputError("enum pageflags has no __NR_PAGEFLAGS", file=btf.file)
    flags = [(n, v) for n, v in values if v < nr and n != "__NR_PAGEFLAGS" and
             [m for m, w in values if w == v][0] == n]
    base_of = {v: n for n, v in flags}
    aliases = [(n, v) for n, v in values if n != "__NR_PAGEFLAGS" and (n, v) not in flags]
    old_flags = _shipped_entries(shipped, "flags")
    old_aliases = _shipped_entries(shipped, "aliases")
    lines = _header("enum pageflags", btf, like) + ["enum: pageflags", "", "flags:"]
    present = {n for n, _ in flags}
    order = list(old_flags)
    for n, _v in flags:
        spec = old_flags.get(n)
        lines.append(_entry(n, spec, {"policy": "PF_ANY"}, ("if", "policy", "kinds", "tails", "doc")) +
                     ("" if spec else "  # new: review policy and kinds"))
        stats.carried += int(bool(spec and "if" in spec))
        stats.new += int(spec is None)
        # conditional flags of the shipped list that follow this one and this build lacks
        if n in order:
            for later in order[order.index(n) + 1:]:
                if later in present:
                    break
                spec2 = old_flags[later]
                if "if" in spec2:
                    lines.append(_entry(later, spec2, {}, ("if", "policy", "kinds", "tails", "doc")) +
                                 "  # not in this BTF; review")
                    stats.absent += 1
    lines += ["", "aliases:"]
    for n, v in aliases:
        if v not in base_of:
            continue
        spec = old_aliases.get(n)
        lines.append(_entry(n, spec, {"base": base_of[v], "kinds": ["any"], "page": "head"},
                            ("kinds", "page", "if", "doc")) + ("" if spec else "  # new: review kinds and page"))
        stats.new += int(spec is None)
    slab = _enum(btf, "slab_flags") or []
    for n, v in slab:
        if v in base_of:
            spec = old_aliases.get(n)
            lines.append(_entry(n, spec, {"base": base_of[v], "kinds": ["slab"], "page": "head",
                                          "enum": "slab_flags"}, ("kinds", "page", "if", "doc")))
    for key in ("second_page_reserved", "masks"):
        if shipped and key in shipped:
            lines += ["", f"# {key}: carried over from {like} unchanged (not in BTF)",
                      yaml.safe_dump({key: _plain(shipped[key])}, sort_keys=False, default_flow_style=None,
                                     width=100).rstrip()]
    return "\n".join(lines) + "\n"


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def _pt_flags_yaml(btf: Btf, like: str, shipped: Any, values: list[tuple[str, int]]) -> str:
    flags = _enum(btf, "pageflags") or []
    nr = dict(flags).get("__NR_PAGEFLAGS", 1 << 30)
    base_of: dict[int, str] = {}
    for n, v in flags:
        if v < nr and n != "__NR_PAGEFLAGS":
            base_of.setdefault(v, n)
    old = _shipped_entries(shipped, "flags")
    lines = _header("enum pt_flags", btf, like) + ["enum: pt_flags", f"word: {shipped.get('word', 'ptdesc.pt_flags')}"
                                                   if shipped else "word: ptdesc.pt_flags", "flags:"]
    for n, v in values:
        if v in base_of:
            lines.append(_entry(n, old.get(n), {"base": base_of[v], "kinds": ["any"]}, ("kinds", "doc")))
    return "\n".join(lines) + "\n"


def _pagetype_yaml(btf: Btf, like: str, shipped: Any, values: list[tuple[str, int]]) -> str:
    import yaml

    old = {str(t["name"]): dict(t) for t in (shipped.get("types") or [])} if shipped else {}
    lines = _header("enum pagetype", btf, like) + ["enum: pagetype"]
    for key in ("shift", "no_type", "typed_range"):
        if shipped and key in shipped:
            value = shipped[key]
            lines.append(f"{key}: {json.dumps(value) if isinstance(value, list) else value}  # from {like}")
    lines.append("types:")
    for n, v in values:
        t = old.get(n, {})
        extra = "".join(f", {k}: {_q(str(t[k]), True) if isinstance(t[k], str) else t[k]}"
                        for k in ("kind", "low_bits", "low_use") if k in t)
        lines.append(f"  - {{name: {n}, value: {v:#x}{extra}}}")
    if shipped and shipped.get("names"):
        names = {k: v for k, v in _plain(shipped["names"]).items() if k in dict(values)}
        lines.append(f"# dump_page() names, from {like} (mm/debug.c, not in BTF)")
        lines.append(yaml.safe_dump({"names": names}, sort_keys=False, default_flow_style=None, width=100).rstrip())
    return "\n".join(lines) + "\n"


# -- the command ------------------------------------------------------------

def import_btf(btf: Btf, out_dir: str | Path, like: str | None = None, config: Any = None) -> ImportResult:
    """Write the files; with `config` (the kernel's .config as a Config), drop carried
    conditions that are false for it and check the files resolve back to the BTF."""
    from mmbits.layout.registry import DESCRIPTORS, layouts, load_layout_set
    from mmbits.paths import DEFAULT_KERNEL, version_dir
    from mmbits.yamlio import load_file

    like = like or DEFAULT_KERNEL
    vdir = version_dir(like)
    if not (vdir / "types.yaml").is_file():
        raise InputError(f"--like {like}: no shipped layouts for that version")
    shipped = layouts(like)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a directory", file=str(out))
    result = ImportResult(btf.file, str(out), like)
    env = None
    if config is not None:
        from mmbits.layout.registry import layout_env

        env = layout_env(config)
    texts: dict[str, tuple[str, Written]] = {}
    btf_layouts: dict[str, Layout] = {}
    for name in DESCRIPTORS:
        layout = layout_of(btf, name)
        if layout is None:
            result.skipped.append(f"struct {name} (not in this BTF)")
            continue
        bad = _bad_member_names(layout.members)
        if bad:
            result.skipped.append(f"struct {name} (refused member names that are not C identifiers: {_refused(bad)})")
            continue
        btf_layouts[name] = layout
        writer = _StructWriter(shipped.specs.get(name), like, env)
        try:
            text = writer.write(layout, btf)
        except InputError as exc:
            raise InputError(f"struct {name}: {exc.message}", file=btf.file) from None
        writer.stats.path = f"{name}.yaml"
        writer.stats.what = f"struct {name}, {layout.size} bytes, {len(layout.members)} members"
        texts[f"{name}.yaml"] = (text, writer.stats)
    refused: list[str] = []
    pageflags = _enum(btf, "pageflags", refused)
    if pageflags is not None:
        stats = Written("pageflags.yaml", f"enum pageflags, {len(pageflags)} constants")
        texts["pageflags.yaml"] = (_pageflags_yaml(btf, like, load_file(vdir / "pageflags.yaml"),
                                                   load_file(vdir / "pt_flags.yaml"), stats), stats)
    else:
        result.skipped.append("enum pageflags (not in this BTF)")
    for enum, writer_fn in (("pt_flags", _pt_flags_yaml), ("pagetype", _pagetype_yaml)):
        values = _enum(btf, enum, refused)
        if values is None:
            result.skipped.append(f"enum {enum} (not in this BTF)")
            continue
        path = vdir / f"{enum}.yaml"
        old = load_file(path) if path.is_file() else None
        texts[f"{enum}.yaml"] = (writer_fn(btf, like, old, values),
                                 Written(f"{enum}.yaml", f"enum {enum}, {len(values)} constants"))
    if refused:
        result.warnings.append(f"refused enum constants that are not C identifiers: {_refused(refused)}")
    _check_loads(texts, vdir, like, load_layout_set, result, config, btf_layouts)
    from mmbits.outputs import write_set

    # all files or none, never a mix of this import and an older one
    write_set(out, [(fname, text) for fname, (text, _stats) in texts.items()], label="import")
    for fname, (_text, stats) in texts.items():
        stats.path = str(out / fname)
        result.files.append(stats)
    return result


def _check_loads(texts: dict[str, tuple[str, Written]], vdir: Path, like: str, load_layout_set: Any,
                 result: ImportResult, config: Any, btf_layouts: dict[str, Layout]) -> None:
    """Every generated struct file must load with the layout loader (types known, syntax
    valid); with a config, each must resolve for it to exactly the BTF's layout."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mmbits-import-") as tmp:
        paths = []
        for fname, (text, _s) in texts.items():
            p = Path(tmp) / fname
            p.write_text(text)
            if fname.removesuffix(".yaml") in ("page", "folio", "ptdesc", "slab", "zpdesc", "ioptdesc"):
                paths.append(p)
        try:
            lset = load_layout_set([vdir], vdir / "types.yaml", like, overrides=paths)
        except InputError as exc:
            where = Path(exc.file).name if exc.file else "?"
            result.warnings.append(f"{where}:{exc.line}: {exc.message} (add the type to layouts/<version>/types.yaml "
                                   f"or edit the file)")
            lset = None
        if lset is not None and config is not None:
            for name, theirs in btf_layouts.items():
                try:
                    ours = lset.resolve(name, config)
                except InputError as exc:
                    result.warnings.append(f"{name}.yaml does not resolve for the config: {exc.message}")
                    continue
                if ours.to_json() != theirs.to_json():
                    result.warnings.append(f"{name}.yaml resolved for the config differs from the BTF: review the "
                                           f"conditions (mmbits show {name} --layout {name}.yaml --config ...)")
        for fname, (text, _s) in texts.items():
            if fname.removesuffix(".yaml") in ("pageflags", "pt_flags", "pagetype"):
                import yaml

                try:
                    yaml.safe_load(text)
                except yaml.YAMLError as exc:  # a bug in this writer, never the user's input
                    raise AssertionError(f"generated {fname} is not YAML: {exc}") from None
