"""One finding type for every analysis, so every printer can print any result.

`kind` is stable (scripts and bots match on it) and must be listed in `KINDS`;
`severity` decides the exit code (`exit_code`); `where` names the thing as
structured fields (struct, field, bit, step) so reports never parse message
text; `config` names the config it depends on. JSON is made only by `to_json`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from mmbits.byvalue import ByValue

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
    # `btf import`: a BTF name that is not a C identifier, refused and not imported
    "refused-name",
    # lifecycle / emulator
    "stale-after-free", "wiped-before-test", "bad-page-at-free", "leak", "double-free",
    "iommu-use-after-free", "use-after-free", "list-corruption", "wrong-table", "memdesc-clobbered",
    "walker-use-after-free", "deadlock", "managed-count",
    # decoder
    "poison", "inconsistent", "kernel-disagrees", "config-mismatch",
}


# The kinds as an enum (built from KINDS, so a kind added there is a member here);
# a member compares and hashes as its string, so `f.kind == "leak"` keeps working.
Kind = StrEnum("Kind", {k.upper().replace("-", "_"): k for k in sorted(KINDS)})  # type: ignore[misc]


class Severity(StrEnum):
    """How bad a finding is; `error` and `warning` make a command exit 1, `note` never does."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


SEVERITIES = tuple(s.value for s in Severity)


class Verdict(StrEnum):
    """The one spelling of a verdict, in JSON and in text."""

    SAFE = "SAFE"
    UNSAFE = "UNSAFE"
    UNKNOWN = "UNKNOWN"


EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


def exit_code(findings: Iterable[Finding], verdict: str | None = None) -> int:
    """The exit rule of every command: 2 for an UNKNOWN verdict (the model does not
    cover the case), else 1 when any finding is a warning or an error, else 0."""
    if verdict is not None and str(verdict).upper() == Verdict.UNKNOWN:
        return EXIT_BAD_INPUT
    if any(f.severity in (Severity.ERROR, Severity.WARNING) for f in findings):
        return EXIT_FINDINGS
    return EXIT_OK


# "ptdesc.pt_flags bit 24", "page.flags bits 25-26", "ptdesc.pt_flags bit 0x1000000: free_pages",
# "ptdesc.pt_flags bit 24 (0x1000000): worker", "ptdesc.pt_flags mask 0x88: free_pages",
# "ptdesc.__page_type" -- the string form analyses used to give `where`
_WHERE = re.compile(
    r"^(?P<struct>[A-Za-z_]\w*)\.(?P<field>[A-Za-z_][\w.\[\]]*)"
    r"(?:\s+(?:bits?\s+(?P<lo>0x[0-9a-fA-F]+|\d+)(?:\s*-\s*(?P<hi>\d+))?(?:\s*\(0x[0-9a-fA-F]+\))?"
    r"|mask\s+(?P<mask>0x[0-9a-fA-F]+)))?"
    r"(?::\s*(?P<detail>.*))?$")


class Where(ByValue):
    """Where a finding is: a descriptor word, its bits, the emulator step, and free text
    for what has no structure (`kernel_pgtable_work_func: list loop`)."""

    struct: str | None = None
    field: str | None = None
    bit: int | None = None  # lowest bit concerned
    bits: tuple[int, ...] = ()  # every bit concerned (empty: the whole word or not a word)
    step: int | None = None  # 1-based step of the schedule
    detail: str | None = None

    _SHOWN = ("struct", "field", "bit", "bits", "step", "detail")

    def __init__(self, struct: str | None = None, field: str | None = None, bit: int | None = None,
                 bits: tuple[int, ...] = (), step: int | None = None, detail: str | None = None) -> None:
        self.struct = struct
        self.field = field
        self.bit = bit
        self.bits = bits
        self.step = step
        self.detail = detail
        self.__post_init__()

    def _fields(self) -> tuple[object, ...]:
        return (self.struct, self.field, self.bit, self.bits, self.step, self.detail)

    def __post_init__(self) -> None:
        if self.bits and self.bit is None:
            object.__setattr__(self, "bit", min(self.bits))
        elif self.bit is not None and not self.bits:
            object.__setattr__(self, "bits", (self.bit,))

    @classmethod
    def parse(cls, text: str) -> Where:
        """The structured form of an analysis's `where` string."""
        m = _WHERE.match(text.strip())
        if m is None:
            return cls(detail=text)
        bits: tuple[int, ...] = ()
        lo = m.group("lo") or m.group("mask")
        if lo is not None and lo.lower().startswith("0x"):
            mask = int(lo, 16)
            bits = tuple(b for b in range(min(mask.bit_length(), 128)) if mask >> b & 1)
        elif lo is not None:
            a, b = int(lo), int(m.group("hi") or lo)
            bits = tuple(range(min(a, b), max(a, b) + 1)) if abs(b - a) <= 128 else (min(a, b),)
        return cls(struct=m.group("struct"), field=m.group("field"), bits=bits, detail=m.group("detail"))

    @classmethod
    def of(cls, value: Where | str | Mapping[str, Any] | None) -> Where | None:
        if value is None or isinstance(value, Where):
            return value
        if isinstance(value, str):
            return cls.parse(value) if value else None
        return cls(struct=value.get("struct"), field=value.get("field"), bit=value.get("bit"),
                   bits=tuple(value.get("bits") or ()), step=value.get("step"), detail=value.get("detail"))

    def __str__(self) -> str:
        out = f"{self.struct}.{self.field}" if self.struct and self.field else (self.struct or self.field or "")
        bits = sorted(self.bits)
        if len(bits) == 1:
            out += f" bit {bits[0]}"
        elif bits and bits == list(range(bits[0], bits[-1] + 1)):
            out += f" bits {bits[0]}-{bits[-1]}"
        elif bits:
            out += " bits " + ",".join(map(str, bits))
        if self.detail:
            out = f"{out}: {self.detail}" if out else self.detail
        if self.step is not None:
            out += f" (step {self.step})"
        return out

    def to_json(self) -> dict[str, Any]:
        return {"struct": self.struct, "field": self.field, "bit": self.bit, "bits": list(self.bits),
                "step": self.step, "detail": self.detail}


class Finding:
    """One problem (or note) found by any analysis.

    Built as `Finding(kind, message, config, where, severity, data)` (positionally
    or by keyword); `where` may be given in its old string form and `severity` as
    a string: both are converted, and an unknown kind or severity raises at once.
    """

    __slots__ = ("kind", "message", "config", "where", "severity", "data")

    kind: Kind
    message: str
    config: str | None
    where: Where | None
    severity: Severity
    data: dict[str, Any]

    def __init__(self, kind: str, message: str, config: str | None = None,
                 where: Where | str | Mapping[str, Any] | None = None, severity: Severity | str = Severity.ERROR,
                 data: Mapping[str, Any] | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown finding kind {str(kind)!r} (add it to mmbits.findings.KINDS)")
        try:
            self.severity = Severity(severity)
        except ValueError:
            raise ValueError(f"bad severity {severity!r} (one of {', '.join(SEVERITIES)})") from None
        self.kind = Kind(kind)
        self.message = message
        self.config = config
        self.where = Where.of(where)
        self.data = dict(data or {})

    def __repr__(self) -> str:
        return (f"Finding({self.kind.value!r}, {self.message!r}, {self.config!r}, {str(self.where) if self.where else None!r}, "
                f"{self.severity.value!r}, {self.data!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Finding):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    @property
    def where_text(self) -> str:
        return str(self.where) if self.where else ""

    def to_json(self) -> dict[str, Any]:
        """The finding object of every command's --json (schemas/common.json#/$defs/finding)."""
        return {"kind": self.kind.value, "severity": self.severity.value, "message": self.message, "config": self.config,
                "where": self.where.to_json() if self.where else None, "data": _plain(self.data)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Finding:
        """A finding read back from JSON (a cached answer), its typed data rebuilt."""
        from mmbits.schedule import typed_data

        return cls(obj["kind"], obj["message"], obj.get("config"), obj.get("where"), obj.get("severity", "error"),
                   typed_data(obj.get("data") or {}))

    def line(self) -> str:
        where = f" [{self.where}]" if self.where else ""
        cfg = f" (config: {self.config})" if self.config else ""
        return f"{self.severity.value.upper()}:{self.kind}: {self.message}{where}{cfg}"


def _plain(value: Any) -> Any:
    """JSON-ready copy of finding data (tuples and sets become lists)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if hasattr(value, "to_json"):
        return value.to_json()
    return value


def blocking(findings: list[Finding]) -> list[Finding]:
    """Findings that make a verdict unsafe (notes and warnings do not)."""
    return [f for f in findings if f.severity == Severity.ERROR]
