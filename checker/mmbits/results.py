"""Typed results of the commands whose analyses do not define their own, and
the shape every result shares: `findings` (the one `Finding` type) and
`to_json()` that follows the command's schema in `mmbits/schemas/`.

`CheckResult` lives in `prover.result`, `VerifyResult` in `btf.verify` and
`SimulationResult` in `emu`; `PatchResult` and `DecodeResult` wrap what the
patch scanner and the decoder produce, so that JSON is made here, at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mmbits.findings import Finding, Severity, Where, exit_code

if TYPE_CHECKING:
    from mmbits.decode.decoder import Decoded
    from mmbits.decode.model import Unreadable
    from mmbits.patch.scan import PatchFinding, PatchReport


class Result(Protocol):
    """What every command's result offers the CLI."""

    @property
    def findings(self) -> list[Finding]: ...

    def to_json(self) -> dict[str, Any]: ...


def result_exit_code(result: Result, verdict: str | None = None) -> int:
    return exit_code(result.findings, verdict)


# checkpatch's levels for our severities, and back
PATCH_LEVEL = {Severity.ERROR: "ERROR", Severity.WARNING: "WARNING", Severity.NOTE: "CHECK"}
PATCH_SEVERITY = {v: k for k, v in PATCH_LEVEL.items()}


def patch_finding(pf: PatchFinding, patch_index: int) -> Finding:
    """A patch finding as the common finding: checkpatch's type, the file and line in data."""
    word = pf.result.proposal.word if pf.result is not None else None
    struct, _, fld = str(word or "").partition(".")
    where = Where(struct=struct or None, field=fld or None,
                  detail=f"{pf.site.file}:{pf.site.line}" if pf.site.line is not None else pf.site.file)
    data: dict[str, Any] = {"patch": patch_index, "type": pf.type, "level": pf.level, "file": pf.site.file,
                            "line": pf.site.line, "patch_line": pf.site.patch_line, "source": pf.site.text}
    if pf.result is not None:
        data["check"] = pf.result.to_json()
    return Finding(pf.kind, pf.message, None, where, PATCH_SEVERITY[pf.level], data)


@dataclass
class PatchResult:
    """`mmbits patch`: one report per patch of the input; findings of all patches in order."""

    source: str
    reports: Sequence[PatchReport]

    @property
    def findings(self) -> list[Finding]:
        return [patch_finding(f, r.patch.index) for r in self.reports for f in r.findings]

    def count(self, level: str) -> int:
        return sum(r.count(level) for r in self.reports)

    def to_json(self) -> dict[str, Any]:
        findings = self.findings
        patches = []
        n = 0
        for r in self.reports:
            group = r.to_json()
            group["findings"] = list(range(n, n + len(r.findings)))  # indices into the top-level findings
            n += len(r.findings)
            patches.append(group)
        return {"source": self.source, "errors": self.count("ERROR"), "warnings": self.count("WARNING"),
                "checks": self.count("CHECK"), "patches": patches, "findings": [f.to_json() for f in findings]}


@dataclass
class DecodeResult:
    """`mmbits decode`: every struct page decoded from the input; findings of all pages in order."""

    pages: Sequence[Decoded]

    @property
    def findings(self) -> list[Finding]:
        return [f for d in self.pages for f in d.findings]

    def to_json(self) -> dict[str, Any]:
        findings: list[dict[str, Any]] = []
        pages = [decoded_page_json(dec, number, findings) for number, dec in enumerate(self.pages)]
        return {"pages": pages, "findings": findings}


def decoded_page_json(dec: Decoded | Unreadable, number: int, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of `decode --json`: the page's JSON, whose `findings` are indices into the
    document's top-level list, to which this page's findings are appended (each carrying its
    page number). Shared by DecodeResult and the CLI's page-at-a-time writer."""
    from mmbits.decode.model import Unreadable
    from mmbits.decode.output import to_json as page_json

    page = dec.to_json() if isinstance(dec, Unreadable) else page_json(dec)
    start = len(findings)
    for f in dec.findings:
        item = f.to_json()
        item["data"] = {**item["data"], "page": number}
        findings.append(item)
    page["findings"] = list(range(start, len(findings)))
    return page
