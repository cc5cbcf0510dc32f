"""Run the prover on what a patch adds, and say it the way checkpatch does.

Every candidate the extractor finds becomes a Proposal (the bit, the word it
is used on, the name the patch gives it) and is proved over the config
domain. Static findings are reported where the bit is chosen (the #define or
enum entry, when the patch adds it), use-specific ones (a non-atomic
read-modify-write, an always-true condition) where the word is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mmbits.errors import InputError
from mmbits.expression.syntax import Node
from mmbits.kconfig.config import Config
from mmbits.layout.registry import layouts
from mmbits.patch.diff import Patch
from mmbits.patch.extract import BIT_ENUMS, ENUM_END, TYPE_ENUMS, Site, Use, extract
from mmbits.proposal import Proposal
from mmbits.prover.analyse import name_matters
from mmbits.prover.engine import check
from mmbits.prover.facts import load_word_facts
from mmbits.prover.result import CheckResult
from mmbits.prover.site import resolve_site, word_of_access

LEVEL = {"error": "ERROR", "warning": "WARNING", "note": "CHECK"}
_IDENT = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class ProposalAnswer:
    """The engine's answer for one proposal a patch derives: the same answer `mmbits check`
    gives for it, kept with the candidate's own spelling (an answer shared by meaning was
    computed for another) and the patch line it came from."""

    verdict: str
    proposal: Proposal
    configs_checked: int
    configs_unsafe: int
    configs_colliding: int
    where: int | None = None  # the patch line of the definition
    unknown: tuple[str, ...] = ()  # why the answer cannot be SAFE, when it is UNKNOWN

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "proposal": self.proposal.to_json(),
                "configs_checked": self.configs_checked, "configs_unsafe": self.configs_unsafe,
                "configs_colliding": self.configs_colliding}

    def listed_json(self) -> dict[str, Any]:
        """As the patch's list of proposals shows it: with its line and reasons."""
        return {**self.to_json(), "where": self.where, "unknown": list(self.unknown)}


@dataclass
class PatchFinding:
    level: str  # ERROR | WARNING | CHECK
    kind: str
    message: str
    site: Site
    result: ProposalAnswer | None = None

    @property
    def type(self) -> str:
        return self.kind.upper().replace("-", "_")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"level": self.level, "type": self.type, "kind": self.kind, "message": self.message,
                               "file": self.site.file, "line": self.site.line, "patch_line": self.site.patch_line,
                               "source": self.site.text}
        if self.result is not None:
            out["check"] = self.result.to_json()
        return out


@dataclass
class PatchReport:
    patch: Patch
    findings: list[PatchFinding] = field(default_factory=list)
    # every proposal the patch's definitions and uses derive, with the engine's verdict:
    # the same answer `mmbits check` gives for that proposal
    proposals: list[ProposalAnswer] = field(default_factory=list)

    @property
    def unknown(self) -> bool:
        return any(p.verdict == "unknown" for p in self.proposals)

    def count(self, level: str) -> int:
        return sum(1 for f in self.findings if f.level == level)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.patch.index, "subject": self.patch.subject,
                "files": [f.path for f in self.patch.files], "lines_checked": self.patch.lines_checked,
                "errors": self.count("ERROR"), "warnings": self.count("WARNING"), "checks": self.count("CHECK"),
                "findings": [f.to_json() for f in self.findings],
                "proposals": [p.listed_json() for p in self.proposals]}


@dataclass
class _Candidate:
    proposal: Proposal
    new_flags: tuple[str, ...]
    site: Site  # where static findings are reported
    uses: list[Use] = field(default_factory=list)


class Scanner:
    """Scans patches against one config or a domain; results are shared across patches of a series."""

    def __init__(self, config: Config | None = None, domain: Any = None, source: str = ""):
        self.config = config
        self.domain = domain
        self.source = source
        self.lset = layouts()
        from mmbits.cli.common import DEFAULT_PRESET
        from mmbits.kconfig.presets import preset

        self.probe = config if config is not None else preset(DEFAULT_PRESET)
        self._results: dict[tuple[Any, ...], CheckResult | InputError] = {}
        self._shared: dict[tuple[Any, ...], CheckResult | InputError] = {}

    def run(self, proposal: Proposal, defines: dict[str, str], new_flags: tuple[str, ...]) -> CheckResult:
        """The engine's answer, computed once per meaning: a thousand macros with eight
        distinct bodies cost eight proofs (#16). Proposals share an answer when their
        parsed expression with the patch's macros expanded, word, kind, new flags and
        (when the rules read it) name are equal, and the first answer names none of the
        macros or the name (else each keeps its own, whose messages quote them)."""
        key = (proposal, tuple(sorted(defines.items())), new_flags)
        hit = self._results.get(key)
        if hit is None:
            meaning = meaning_key(proposal, defines, new_flags)
            hit = self._shared.get(meaning) if meaning is not None else None
            if hit is None:
                try:
                    hit = check(proposal, config=self.config, domain=self.domain, source=self.source,
                                defines=defines, new_flags=new_flags, lifecycle=False)
                except InputError as exc:
                    hit = exc
                if meaning is not None and not _quotes(hit, {*defines, proposal.name or ""} - {""}):
                    self._shared[meaning] = hit
            self._results[key] = hit
        if isinstance(hit, InputError):
            raise hit
        return hit

    # -- one patch ------------------------------------------------------------------------
    def scan(self, patch: Patch) -> PatchReport:
        ex = extract(patch)
        report = PatchReport(patch)
        defines = {name: d.expr for name, d in ex.defines.items()}
        def_sites = {name: d.site for name, d in ex.defines.items()}
        new_flags: list[str] = []
        enum_value: dict[str, str] = {}
        for e in ex.enum_entries:
            def_sites.setdefault(e.name, e.site)
            if e.enum == "pageflags" and e.value is None and e.name not in ENUM_END and not e.name.startswith("__"):
                new_flags.append(e.name)
            elif e.value is not None and e.enum in BIT_ENUMS:
                enum_value[e.name] = e.value
        for name, value in enum_value.items():
            defines.setdefault(name, value)
        candidates: dict[tuple[Any, ...], _Candidate] = {}
        reported: set[tuple[Any, ...]] = set()

        def add(proposal: Proposal, site: Site, use: Use | None, flags: tuple[str, ...] = ()) -> None:
            key = (proposal.expr, proposal.word, proposal.kind, proposal.name, flags)
            cand = candidates.get(key)
            if cand is None:
                cand = candidates[key] = _Candidate(proposal, flags, site)
            if use is not None:
                cand.uses.append(use)

        # enum entries: the bit is chosen here
        for e in ex.enum_entries:
            if e.enum == "pageflags" and e.name in new_flags:
                add(Proposal(f"BIT({e.name})", "page.flags", None, e.name), e.site, None, tuple(new_flags))
            elif e.enum == "pageflags" and e.value is not None and e.block in ("alias", "second"):
                # an alias names an existing bit; its block says which page: page[1] in the second-page block
                word = "folio._flags_1" if e.block == "second" else "page.flags"
                add(Proposal(f"BIT({e.value})", word, None, e.name), e.site, None)
            elif e.enum in BIT_ENUMS and e.value is not None and e.enum != "pageflags":
                add(Proposal(f"BIT({e.value})", BIT_ENUMS[e.enum], None, e.name), e.site, None)
            elif e.enum in TYPE_ENUMS and e.value is not None:
                add(Proposal(e.value, TYPE_ENUMS[e.enum], None, e.name), e.site, None)
        # FOLIO_FLAG(foo, FOLIO_SECOND_PAGE): the flag lives in page[1]
        for ff in ex.folio_flags:
            name = f"PG_{ff.name}"
            word = "folio._flags_1" if ff.page == "FOLIO_SECOND_PAGE" else "folio.flags"
            add(Proposal(f"BIT({name})", word, None, name), def_sites.get(name, ff.site), None,
                tuple(new_flags) if name in new_flags else ())
        # uses on descriptor words
        for use in ex.uses:
            found = word_of_access(use.access, self.lset, self.probe, ex.declared)
            if found is None:
                if use.op == "condition":
                    # not a word mmbits knows, but `x | C` is still a condition to check
                    add(Proposal(f"{use.access} | {use.expr}", "", None, None), use.site, use)
                continue
            struct, word = found
            bare = _bare(use.expr)
            # a name the patch defines is that definition's bit; a name the kernel already has
            # (set_bit(PG_referenced, ...)) is the existing definition, checked for consistency
            named = bare if bare and (bare in def_sites or bare in _existing_names()) else None
            site = def_sites.get(named, use.site) if named is not None else use.site
            flags = tuple(new_flags) if bare in new_flags else ()
            if use.op == "condition":
                add(Proposal(f"{use.access} | {use.expr}", f"{struct}.{word}", None, named), use.site, use, flags)
            else:
                add(Proposal(use.expr, f"{struct}.{word}", None, named), site, use, flags)
        for cand in candidates.values():
            self._report(cand, defines, report, reported)
        for bad in patch.malformed:
            report.findings.append(PatchFinding("WARNING", "malformed-hunk", bad.message,
                                                Site(bad.file, None, bad.patch_line, bad.header)))
        report.findings.sort(key=lambda f: f.site.patch_line)
        return report

    def _report(self, cand: _Candidate, defines: dict[str, str], report: PatchReport,
                reported: set[tuple[Any, ...]]) -> None:
        p = cand.proposal
        needed = _needed_defines(p.expr, defines)
        try:
            result = self.run(p, needed, cand.new_flags)
        except InputError as exc:
            if cand.uses or cand.new_flags:
                key: tuple[Any, ...] = (cand.site.patch_line, "unknown-name")
                if key not in reported:
                    reported.add(key)
                    report.findings.append(PatchFinding(
                        "WARNING", "unknown-name",
                        f"cannot check {p.expr!r} on {p.word}: {exc.message}"
                        + (" (in a condition, `x | C` is always true unless C is 0)"
                           if any(u.op == "condition" for u in cand.uses) else ""), cand.site))
            return
        summary = _summary(result, p, cand.site.patch_line)
        report.proposals.append(summary)
        if result.verdict == "unknown":
            report.findings.append(PatchFinding("WARNING", "unknown", f"{_label(p, needed)}: cannot prove: "
                                                + "; ".join(result.unknown), cand.site, summary))
        by_kind: dict[tuple[str, str], list[int]] = {}
        for i, f in enumerate(result.findings):
            by_kind.setdefault((f.kind, f.severity), []).append(i)
        for (kind, _sev), idx in by_kind.items():
            if all(result.findings[i].data.get("existing") for i in idx):
                continue  # about the kernel's own definition: nothing for the patch author to fix
            site = cand.site
            if kind == "always-true" and cand.uses and any(u.op == "condition" for u in cand.uses):
                site = next(u.site for u in cand.uses if u.op == "condition")
            if kind == "always-true" and any(result.findings[i].data.get("what", "").startswith("`|")
                                             for i in idx):
                site = next((u.site for u in cand.uses if u.op == "condition"), site)
            key = (site.patch_line, kind, tuple(sorted(result.findings[i].message for i in idx)))
            if key in reported:
                continue
            reported.add(key)
            first = result.findings[idx[0]]
            n = result.counts[idx[0]]
            things = [result.findings[i].data.get("what", "") for i in idx[1:] if result.findings[i].data.get("what")]
            scope = _scope(result, n, first.config)
            also = f" (also: {', '.join(dict.fromkeys(things))})" if things else ""
            msg = f"{_label(p, needed)}: {first.message}{also}{scope}"
            report.findings.append(PatchFinding(LEVEL[first.severity], kind, msg, site, summary))
        self._use_findings(cand, result, report, reported)

    def _use_findings(self, cand: _Candidate, result: CheckResult, report: PatchReport,
                      reported: set[tuple[Any, ...]]) -> None:
        """A plain read-modify-write of a word other CPUs update atomically."""
        facts = load_word_facts()
        for use in cand.uses:
            if use.atomic:
                continue
            struct, _, word = cand.proposal.word.partition(".")
            site_ = resolve_site(self.lset, struct, word, self.probe) if word else None
            if site_ is None or site_.anchor not in facts.atomic_words:
                continue
            key = (use.site.patch_line, "non-atomic")
            if key in reported:
                continue
            reported.add(key)
            how = f"__{use.op}_bit()" if use.op in ("set", "clear", "change") else \
                {"or-assign": "`|=`", "and-assign": "`&=`", "xor-assign": "`^=`"}.get(use.op, use.op)
            report.findings.append(PatchFinding(
                "WARNING", "non-atomic",
                f"{how} on {cand.proposal.word} is a plain read-modify-write of page.{site_.anchor}: "
                f"{facts.atomic_words[site_.anchor]}, so their updates can be lost; use set_bit()/clear_bit()",
                use.site, None))


def meaning_key(proposal: Proposal, defines: dict[str, str], new_flags: tuple[str, ...]) -> tuple[Any, ...] | None:
    """What a proposal asks, independent of how the patch spells it: the parsed
    expression (positions dropped, literals as written, each macro replaced by its
    parsed body), the word, the kind, the steps, the new flags, and the name only when
    the rules read it (prover.analyse.name_matters). None when it does not parse
    (the engine reports that, per spelling)."""
    from mmbits.expression.csem import BitExprError, tree_of

    def shape(node: Node, active: frozenset[str]) -> tuple[Any, ...]:
        if node.op == "sym" and node.value in defines:
            name = str(node.value)
            if name in active:
                raise BitExprError(f"{name} expands to itself")
            body = " ".join(defines[name].split())
            return ("macro", body, shape(tree_of(body), active | {name}))
        return (node.op, node.value, node.text, tuple(shape(a, active) for a in node.args))

    try:
        tree = shape(tree_of(" ".join(proposal.expr.split())), frozenset())
    except (BitExprError, RecursionError):
        return None
    name = proposal.name if name_matters(proposal.name) else None
    return (tree, proposal.word, proposal.kind, name, proposal.set_at, proposal.test_at, proposal.clear_at,
            new_flags)


def _quotes(answer: CheckResult | InputError, names: set[str]) -> bool:
    """Whether an answer's text names one of these (a macro's problem is prefixed with its name)."""
    if not names:
        return False
    if isinstance(answer, InputError):
        text = answer.message
    else:
        doc = answer.to_json()
        doc.pop("proposal")
        text = json.dumps(doc)
    return re.search(r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(names))) + r")(?!\w)", text) is not None


def _existing_names() -> frozenset[str]:
    from mmbits.flags.data import load_flag_data

    return frozenset(load_flag_data().all_names())


def _bare(expr: str) -> str | None:
    m = re.fullmatch(r"\s*(?:BIT\s*\(\s*)?([A-Za-z_]\w*)\s*\)?\s*", expr)
    return m.group(1) if m else None


def _needed_defines(expr: str, defines: dict[str, str]) -> dict[str, str]:
    """The patch's macros an expression reads, transitively, in patch order."""
    want: set[str] = set()
    todo = set(_IDENT.findall(expr))
    while todo:
        name = todo.pop()
        if name in defines and name not in want:
            want.add(name)
            todo |= set(_IDENT.findall(defines[name]))
    return {k: v for k, v in defines.items() if k in want}


def _label(p: Proposal, defines: dict[str, str]) -> str:
    """`ASYNC_PGTABLE_FREE_DTOR = BIT(NR_PAGEFLAGS) in ptdesc.pt_flags`."""
    bare = _bare(p.expr)
    expr = p.expr
    if bare and bare in defines:
        expr = f"{bare} = {defines[bare]}"
    elif p.name and p.name not in p.expr:
        expr = f"{p.name} = {p.expr}"
    return f"{expr} in {p.word}" if p.word else expr


def _scope(result: CheckResult, n: int, config: str | None) -> str:
    if result.configs_checked <= 1:
        return f" [config: {config}]" if config else ""
    eg = f"; e.g. {config}" if config else ""
    return f" [{n} of {result.configs_checked} configs{eg}]"


def _summary(result: CheckResult, proposal: Proposal, where: int | None) -> ProposalAnswer:
    # the candidate's own proposal: an answer shared by meaning was computed for another spelling
    return ProposalAnswer(result.verdict, proposal, result.configs_checked, result.configs_unsafe,
                          result.configs_colliding, where, tuple(result.unknown))


def scan_patches(patches: Iterable[Patch], config: Config | None = None, domain: Any = None,
                 source: str = "") -> list[PatchReport]:
    scanner = Scanner(config, domain, source)
    return [scanner.scan(p) for p in patches]
