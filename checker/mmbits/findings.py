"""One finding type for every analysis, so every printer can print any result.

`kind` is stable (scripts and bots match on it); `where` names the thing
(struct.field, a bit, a step); `config` names the config it depends on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = {
    # static
    "collision", "undefined-shift", "sign-extension", "always-true", "tail-marker", "type-byte",
    "pointer-tag", "invalid-config", "match-broken", "size-assert", "cannot-build", "miscount",
    "shrinks-field", "field-out-of-word", "layout-mismatch", "missing-member", "extra-member",
    "type-mismatch", "enum-mismatch", "version-skew", "unknown-name", "non-atomic",
    # the prover: a bit outside the allocated page flags, a value wider than its word,
    # what a free second-page bit obliges, which memdesc types a pointer can alias,
    # and "the lifecycle emulator was not available"
    "unallocated-bit", "truncated", "obligation", "memdesc-alias", "lifecycle-unchecked",
    # `--as NAME` where NAME already is this bit for these kinds; an analysis that could not
    # run (the verdict is UNKNOWN); a patch hunk shorter or longer than its header says
    "existing-definition", "unknown", "malformed-hunk",
    # lifecycle / emulator
    "stale-after-free", "wiped-before-test", "bad-page-at-free", "leak", "double-free",
    "iommu-use-after-free", "use-after-free", "list-corruption", "wrong-table", "memdesc-clobbered",
    # decoder
    "poison", "inconsistent", "kernel-disagrees",
}

SEVERITIES = ("error", "warning", "note")


@dataclass
class Finding:
    kind: str
    message: str
    config: str | None = None
    where: str | None = None
    severity: str = "error"
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"bad severity {self.severity!r}")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "message": self.message, "config": self.config, "where": self.where}
        if self.severity != "error":
            out["severity"] = self.severity
        if self.data:
            out["data"] = self.data
        return out

    def line(self) -> str:
        where = f" [{self.where}]" if self.where else ""
        cfg = f" (config: {self.config})" if self.config else ""
        return f"{self.severity.upper()}:{self.kind}: {self.message}{where}{cfg}"


def blocking(findings: list[Finding]) -> list[Finding]:
    """Findings that make a verdict unsafe (notes and warnings do not)."""
    return [f for f in findings if f.severity == "error"]
