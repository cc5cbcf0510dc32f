"""`mmbits btf import`: a new kernel's differences, written into the one layout set.

The layouts describe every release from 6.1 on in one set of files, each change
written once with `since:`/`until:` where it happened. So importing a kernel's
BTF does not write a copy of the layouts: the shipped structs are resolved for
the kernel's .config at the BTF's release, compared member by member with the
BTF (`layoutdiff`), and only what differs is written: a member the release
dropped gains `until: "R"`, a member it added is inserted with `since: "R"`
after its neighbour, and `kconfig.yaml` lists the release. The edits keep every
comment of the hand-written files (`yamledit`, every new text made by
`yaml.safe_dump`). Before anything is written the edited set is loaded back and
checked: resolved at R it must equal the BTF pahole-exact, and resolved at every
older modelled release it must be unchanged. What cannot be written this way
(enum constants, a struct the BTF lacks, names that are not C identifiers) is
reported as a finding to review, one line each.

BTF names are hostile input: a name that is not a C identifier (C11 6.4.2.1,
ASCII, at most 128 characters) is refused, listed, and its struct or constant
not imported.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmbits.btf.layoutdiff import StructDiff, diff_members, preferred_spellings, yaml_item
from mmbits.btf.reader import Btf
from mmbits.btf.render import layout_of
from mmbits.btf.wire import ENUM, ENUM64
from mmbits.errors import InputError, clip
from mmbits.findings import Finding
from mmbits.layout.model import Layout, Member

_C_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
ENUMS = ("pageflags", "pt_flags", "pagetype", "slab_flags")


# C11 6.4.1 (and C23's new ones): a keyword is never an identifier, so never a member name
_C_KEYWORDS = frozenset({
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
    "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Alignas",
    "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert",
    "_Thread_local", "alignas", "alignof", "bool", "constexpr", "false", "nullptr", "static_assert", "thread_local",
    "true", "typeof", "typeof_unqual",
})


def is_c_identifier(name: str) -> bool:
    """C's rule (C11 6.4.2.1, ASCII only, no keyword), at most 128 characters."""
    return _C_IDENT.fullmatch(name) is not None and name not in _C_KEYWORDS


def shown(name: str) -> str:
    """A hostile name as one short, printable, quoted token (JSON escapes, cut with …)."""
    return json.dumps(clip(name, 60))


_TYPE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}|[0-9]{1,20}|\.\.\.")


def _plausible_type(text: str) -> bool:
    """A type as the renderer spells it (`struct list_head`, `void (*)(struct page *)`,
    `long unsigned int[2]`): only C words, numbers and declarator punctuation."""
    return all(_TYPE_WORD.fullmatch(w) for w in re.split(r"[\s*\[\](),]+", text) if w)


def _bad_member_names(members: tuple[Member, ...] | list[Member]) -> list[str]:
    """Member names that are not C identifiers, and type spellings with a name that is not one
    (a struct or typedef named by the BTF is as hostile as a member)."""
    bad: list[str] = []
    stack = list(members)
    while stack:
        m = stack.pop()
        if m.name and not is_c_identifier(m.name):
            bad.append(m.name)
        if m.kind == "field" and not _plausible_type(m.type):
            bad.append(m.type)
        stack.extend(m.children)
    return bad


@dataclass
class Change:
    file: str
    what: str  # "since" | "until" | "release"
    path: str  # page.mapping

    def line(self) -> str:
        return f"  {self.file}: {self.what}: {self.path}"


@dataclass
class ImportResult:
    btf: str
    config: str
    release: str
    data: str  # the layouts directory edited
    changes: list[Change] = field(default_factory=list)
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (old text, new text)
    checked: list[str] = field(default_factory=list)  # structs equal to the BTF after the import
    findings: list[Finding] = field(default_factory=list)
    out: str | None = None

    def patch(self) -> str:
        """The edits as one unified diff against the data directory (apply with `git apply`)."""
        root = Path(self.data)
        rel = f"{root.parent.name}/{root.name}"
        out: list[str] = []
        for name, (old, new) in self.files.items():
            out.extend(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                            f"a/{rel}/{name}", f"b/{rel}/{name}"))
        return "".join(out)

    def to_json(self) -> dict[str, Any]:
        return {"btf": self.btf, "config": self.config, "release": self.release, "data": self.data, "out": self.out,
                "changes": [vars(c) for c in self.changes], "files": list(self.files),
                "checked": self.checked, "patch": self.patch(), "findings": [f.to_json() for f in self.findings]}

    def text(self) -> str:
        head = (f"btf import: {self.btf} as Linux {self.release} (config {self.config}) against {self.data}: "
                f"{len(self.changes)} change{'s' if len(self.changes) != 1 else ''}")
        out = [head, *(c.line() for c in self.changes)]
        if self.checked:
            out.append(f"  after the import, resolved for the config at {self.release}: "
                       f"{', '.join(self.checked)} equal the BTF (pahole-exact)")
        out.extend(f.line() for f in self.findings)
        if self.out is not None:
            out.append(f"wrote {len(self.files)} file{'s' if len(self.files) != 1 else ''} to {self.out}"
                       if self.files else "nothing to write")
        return "\n".join(out)


def _review(kind: str, message: str, where: str | None = None, **data: Any) -> Finding:
    return Finding(kind, message, None, where, "warning", data)


def _refused_enums(btf: Btf, result: ImportResult) -> set[str]:
    """Enum constants that are not C identifiers, each listed; returns the enums that had any."""
    hit = set()
    for enum in ENUMS:
        ids = btf.find(enum, (ENUM, ENUM64))
        if not ids:
            continue
        for name, value in btf.enum_values(ids[0]):
            if not is_c_identifier(name):
                hit.add(enum)
                result.findings.append(_review("refused-name", f"enum {enum}: refused constant {shown(name)} = {value}"
                                               f" (not a C identifier); enum {enum} not compared", enum))
    return hit


def default_config(btf_path: str) -> str:
    """The .config of the build the BTF comes from: `.config` beside a vmlinux in a build tree,
    the running kernel's for /sys/kernel/btf/vmlinux."""
    import os

    if btf_path.startswith("/sys/kernel/btf/"):
        for cand in ("/proc/config.gz", f"/boot/config-{os.uname().release}"):
            if os.path.isfile(cand):
                return cand
    else:
        cand = str(Path(btf_path).parent / ".config")
        if os.path.isfile(cand):
            return cand
    raise InputError("no .config found for this BTF (beside it, or the running kernel's): give --config",
                     file=btf_path)


def _release_of(kernel: str | None, config_path: str) -> int:
    from mmbits.kconfig.dotconfig import parse_file
    from mmbits.kconfig.release import parse_release

    if kernel:
        return parse_release(kernel, "--kernel: ")
    header = parse_file(config_path).kernel_version
    if header is None:
        raise InputError("the .config has no version header: say which release this BTF is with --kernel",
                         file=config_path)
    return parse_release(header, f"{config_path}: ")


def import_btf(btf: Btf, config_path: str, kernel: str | None = None) -> ImportResult:
    """Compare the BTF with the layouts at its release; the edited file texts and findings."""
    from mmbits.btf.yamledit import YamlText
    from mmbits.kconfig.dotconfig import config_from_file
    from mmbits.kconfig.release import release_name
    from mmbits.layout.registry import DESCRIPTORS, layout_env, layouts
    from mmbits.paths import version_dir

    release = _release_of(kernel, config_path)
    name_r = release_name(release)
    config, _dot = config_from_file(config_path, {"VERSION": release})
    lset = layouts()
    data = version_dir()
    result = ImportResult(btf.file, config_path, name_r, str(data))
    env = layout_env(config)
    akas: dict[str, list[str]] = {}
    for aka, canonical in lset.types.aliases.items():
        akas.setdefault(canonical, []).append(aka)
    preferred = preferred_spellings(akas)
    editors: dict[Path, YamlText] = {}
    btf_layouts: dict[str, Layout] = {}
    for name in DESCRIPTORS:
        spec = lset.specs.get(name)
        if spec is None:
            continue
        theirs = layout_of(btf, name)
        live = spec.exists_in(env)
        if theirs is None:
            if live:
                result.findings.append(_review("missing-member", f"struct {name} is in the layouts for Linux {name_r} "
                                               f"but not in this BTF: configured out, or gone (then add `until: "
                                               f"\"{name_r}\"` to {spec.path.name} by hand)", name))
            continue
        bad = _bad_member_names(theirs.members)
        if bad:
            for n in bad:
                result.findings.append(_review("refused-name", f"struct {name}: refused name {shown(n)} (not a C "
                                               f"identifier, or a type spelled with one); struct {name} not imported",
                                               name))
            continue
        if not live:
            result.findings.append(_review("extra-member", f"struct {name} is in this BTF but the layouts say Linux "
                                           f"{name_r} has none ({spec.span_note}): review {spec.path.name}", name))
            continue
        btf_layouts[name] = theirs
        ours = lset.resolve(name, config)
        diff = StructDiff()
        diff_members(spec.root.children, ours.root.children, theirs.root.children, env, name, diff)
        if not diff:
            continue
        ed = editors.get(spec.path)
        if ed is None:
            ed = editors[spec.path] = YamlText(spec.path.read_text(encoding="utf-8"), str(spec.path))
        for u in diff.until:
            try:
                ed.add_key(u.node.line, "until", name_r)
            except InputError as exc:  # already ends later: the data and this BTF disagree on a span
                result.findings.append(_review("missing-member", f"{u.path} is live at {name_r} but not in this BTF; "
                                               f"{spec.path.name}:{u.node.line} {exc.message}: fix its span by hand",
                                               u.path))
                continue
            result.changes.append(Change(spec.path.name, f'until "{name_r}"', u.path))
        for ins in diff.inserts:
            items = [yaml_item(m, preferred, name_r) for m in ins.items]
            if ins.after is not None:
                ed.insert_items(items, after=ins.after.line)
            else:
                assert ins.before is not None
                ed.insert_items(items, before=ins.before.line)
            result.changes.extend(Change(spec.path.name, f'since "{name_r}"', p) for p in ins.paths)
    refused = _refused_enums(btf, result)
    flags_done = _pageflags(btf, config, env, data, name_r, refused, result)
    from mmbits.kconfig.model import load_model

    newest = max(load_model().releases)
    if result.changes and release < newest:
        result.findings.append(_review("version-skew", f"Linux {name_r} is older than the newest modelled release "
                                       f"({release_name(newest)}): each `since:`/`until:` written here also holds "
                                       f"for the releases after it; check them"))
    _add_release(release, data, editors, result)
    _enum_review(btf, config, refused, flags_done, result)
    for path, ed in editors.items():
        if ed.changed:
            new = ed.result()
            _loads(new, path)
            result.files[path.name] = (ed.text, new)
    _check(result, lset, config, btf_layouts, data)
    return result


def _loads(text: str, path: Path) -> None:
    """An edited file must still be YAML for the safe loader (a bug here, never the BTF's fault)."""
    import yaml

    try:
        yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AssertionError(f"btf import made {path.name} unreadable: {exc}") from None


def _add_release(release: int, data: Path, editors: dict[Path, Any], result: ImportResult) -> None:
    """kconfig.yaml's `kernels:` gains the release (kept sorted), so --kernel accepts it."""
    from mmbits.btf.yamledit import YamlText
    from mmbits.kconfig.model import load_model
    from mmbits.kconfig.release import parse_release, release_name

    model = load_model()
    if release in model.releases:
        return
    path = data / "kconfig.yaml"
    ed = editors[path] = YamlText(path.read_text(encoding="utf-8"), str(path))
    from mmbits.yamlio import load_file

    listed = [str(k) for k in load_file(path).get("kernels") or []]
    listed.append(release_name(release))
    listed.sort(key=lambda r: parse_release(r))
    ed.replace_value("kernels", listed)
    result.changes.append(Change(path.name, "release", f"kernels: + \"{release_name(release)}\""))


def _pageflags(btf: Btf, config: Any, env: dict[str, Any], data: Path, release: str, refused: set[str],
               result: ImportResult) -> set[str]:
    """enum pageflags' differences written into pageflags.yaml; the flag names now accounted for."""
    from mmbits.btf.flagdiff import btf_flag_order, diff_flags
    from mmbits.flags.packing import compute

    ids = btf.find("pageflags", (ENUM, ENUM64))
    values = btf.enum_values(ids[0]) if ids and "pageflags" not in refused else []
    theirs = btf_flag_order(values)
    if theirs is None:
        return set()
    ours = [f.name for f in sorted(compute(config).flags, key=lambda f: f.bit)]
    path = data / "pageflags.yaml"
    edits = diff_flags(path, env, values, theirs, release, ours)
    if edits.problem:
        result.findings.append(_review("enum-mismatch", f"enum pageflags: {edits.problem}", "pageflags"))
        return set()
    for n in edits.until:
        result.changes.append(Change(path.name, f'until "{release}"', f"pageflags.{n}"))
    for alias, what in edits.aliases:
        result.changes.append(Change(path.name, f'{what} "{release}"', f"pageflags.{alias} (alias, base moved)"))
    for n in edits.since:
        result.changes.append(Change(path.name, f'since "{release}"', f"pageflags.{n}"))
        result.findings.append(_review("enum-mismatch", f"enum pageflags: {n} is new in {release}: written with the "
                                       f"loosest policy and kinds (PF_ANY, any); set them from "
                                       f"include/linux/page-flags.h", f"pageflags.{n}"))
    if edits.text is not None:
        result.files[path.name] = (path.read_text(encoding="utf-8"), edits.text)
    return set(ours) | set(theirs) | {"__NR_PAGEFLAGS"}


def _enum_review(btf: Btf, config: Any, refused: set[str], flags_done: set[str], result: ImportResult) -> None:
    """Differences in the other enums (aliases, page types, pt_flags, slab_flags) are not written:
    which pages an alias applies to, or a page type's meaning, needs a human. Listed."""
    from mmbits.btf.verify import compare_enums

    counts: dict[str, int] = {}
    for f in compare_enums(btf, config, config.label(), counts):
        enum = f.where.struct if f.where is not None else None
        if enum in refused:
            continue
        if enum == "pageflags" and f.where is not None and (f.where.field in flags_done):
            continue
        result.findings.append(_review("enum-mismatch", f"{f.message} (not imported: edit the enum's file in "
                                       f"{Path(result.data).name}/ by hand)", str(f.where) if f.where else None,
                                       **dict(f.data)))


def _check(result: ImportResult, lset: Any, config: Any, btf_layouts: dict[str, Layout], data: Path) -> None:
    """Load the edited set back: at the release it must equal the BTF; before it, nothing changed."""
    import tempfile

    from mmbits.btf.verify import compare_layouts
    from mmbits.errors import InvalidConfigError
    from mmbits.kconfig.model import load_model
    from mmbits.layout.registry import load_layout_set

    with tempfile.TemporaryDirectory(prefix="mmbits-import-") as tmp:
        overrides = []
        struct_files = {spec.path.name for spec in lset.specs.values()}
        for name, (_old, new) in result.files.items():
            if name not in struct_files:
                continue
            p = Path(tmp) / name
            p.write_text(new, encoding="utf-8")
            overrides.append(p)
        try:
            edited = load_layout_set([data], data / "types.yaml", "kernel", overrides=overrides)
        except InputError as exc:  # a type the data does not know yet, say
            result.findings.append(_review("cannot-build", f"the edited layouts do not load: {exc} (add the type to "
                                           f"types.yaml, then import again)"))
            return
        for name, theirs in btf_layouts.items():
            try:
                ours = edited.resolve(name, config)
            except InputError as exc:
                result.findings.append(_review("cannot-build", f"struct {name} does not resolve after the import: "
                                               f"{exc.message}", name))
                continue
            diffs, _n = compare_layouts(ours, theirs, config.label())
            if diffs or ours.size != theirs.size:
                for f in diffs:
                    result.findings.append(_review(str(f.kind), f"after the import: {f.message}", str(f.where)))
            else:
                result.checked.append(name)
        model = load_model()
        release = int(config["VERSION"])
        for older in (r for r in model.releases if r < release):
            try:
                cfg = model.make(dict(config.primary, VERSION=older), name=config.name)
            except InvalidConfigError:
                continue
            for name in btf_layouts:
                if not lset.exists(name, cfg):
                    continue
                if lset.resolve(name, cfg).to_json() != edited.resolve(name, cfg).to_json():
                    raise AssertionError(f"btf import changed struct {name} at an older release {older}")
