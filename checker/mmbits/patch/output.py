"""checkpatch's output conventions: `LEVEL:TYPE: message`, `#N: FILE: path:line:`,
the added line, and `total: N errors, M warnings, K lines checked`."""

from __future__ import annotations

from mmbits.patch.scan import PatchReport


def checkpatch(reports: list[PatchReport], source: str) -> str:
    out: list[str] = []
    many = len(reports) > 1
    for rep in reports:
        if many:
            subject = rep.patch.subject or f"patch {rep.patch.index}"
            out.append(f"--- {source} patch {rep.patch.index}/{len(reports)}: {subject}")
        for f in rep.findings:
            out.append(f"{f.level}:{f.type}: {f.message}")
            where = f"{f.site.file}:{f.site.line}:" if f.site.line is not None else f"{f.site.file}:"
            out.append(f"#{f.site.patch_line}: FILE: {where}")
            out.append(f.site.text if f.kind == "malformed-hunk" else f"+{f.site.text}")
            out.append("")
        checks = rep.count("CHECK")
        out.append(f"total: {rep.count('ERROR')} errors, {rep.count('WARNING')} warnings, "
                   + (f"{checks} checks, " if checks else "") + f"{rep.patch.lines_checked} lines checked")
        if many:
            out.append("")
    return "\n".join(out).rstrip("\n")


def terse(reports: list[PatchReport]) -> str:
    out = []
    for rep in reports:
        for f in rep.findings:
            line = f.site.line if f.site.line is not None else 0
            out.append(f"{f.site.file}:{line}: {f.level}:{f.type}: {f.message}")
    return "\n".join(out)

