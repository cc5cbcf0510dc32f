"""The answer of a domain proof, kept apart from the engine so that printing a
cached answer (mmbits.prover.cache) imports nothing of the prover."""

from __future__ import annotations

from typing import Any

from mmbits.findings import Finding
from mmbits.proposal import Proposal
from mmbits.prover.releases import ReleaseTally, summary


class CheckResult:
    """A proof's answer. (A plain class: every check imports it, and a dataclass compiles
    its methods at import.)"""

    __slots__ = ("proposal", "source", "verdict", "configs_checked", "configs_unsafe", "configs_colliding", "groups",
                 "findings", "counts", "explanation", "seconds", "relevant", "lifecycle", "unknown", "cached",
                 "releases")

    def __init__(self, proposal: Proposal, source: str, verdict: str, configs_checked: int, configs_unsafe: int,
                 configs_colliding: int, groups: int, findings: list[Finding], counts: list[int],
                 explanation: list[str], seconds: float, relevant: tuple[str, ...] = (),
                 lifecycle: str = "not requested", unknown: list[str] | None = None, cached: bool = False,
                 releases: list[ReleaseTally] | None = None):
        self.proposal = proposal
        self.source = source  # what was checked: a domain name, a preset, a .config
        self.verdict = verdict  # safe | unsafe | unknown (a part of the analysis could not run: see `unknown`)
        self.configs_checked = configs_checked
        self.configs_unsafe = configs_unsafe
        self.configs_colliding = configs_colliding
        self.groups = groups
        self.findings = findings
        self.counts = counts  # configs per finding, same order
        self.explanation = explanation
        self.seconds = seconds
        self.relevant = relevant
        self.lifecycle = lifecycle  # checked | not requested | emulator missing | emulator failed
        self.unknown: list[str] = [] if unknown is None else unknown  # why the verdict cannot be SAFE
        self.cached = cached  # read back from the answer cache (mmbits.prover.cache)
        # the static proof per kernel release, oldest first (prover.releases)
        self.releases: list[ReleaseTally] = [] if releases is None else releases

    def __repr__(self) -> str:
        return (f"CheckResult({self.verdict!r}, {self.proposal!r}, configs_checked={self.configs_checked}, "
                f"findings={len(self.findings)})")

    @property
    def by_release(self) -> str:
        """`unsafe on 6.1-6.9, safe from 6.10`; empty when one release was checked."""
        return summary(self.releases)

    @classmethod
    def from_json(cls, data: dict[str, Any], seconds: float) -> CheckResult:
        """A result read back from to_json() (the on-disk answer cache)."""
        p = data["proposal"]
        proposal = Proposal(p["expr"], p["word"], p.get("kind"), p.get("name"), p.get("set_at"), p.get("test_at"),
                            p.get("clear_at"))
        findings, counts = [], []
        for item in data["findings"]:
            extra = dict(item.get("data") or {})
            counts.append(int(extra.pop("configs")))
            findings.append(Finding(item["kind"], item["message"], item.get("config"), item.get("where"),
                                    item["severity"], extra))
        return cls(proposal, data["checked"], str(data["verdict"]).lower(), data["configs_checked"],
                   data["configs_unsafe"], data["configs_colliding"], data["groups"], findings, counts,
                   list(data["explanation"]), seconds, tuple(data.get("relevant", ())), data["lifecycle"],
                   list(data.get("unknown", [])),
                   releases=[ReleaseTally(int(r["version"]), int(r["configs_checked"]), int(r["configs_unsafe"]),
                                          int(r.get("configs_unknown", 0))) for r in data.get("releases", [])])

    def to_json(self) -> dict[str, Any]:
        findings = []
        for f, n in zip(self.findings, self.counts, strict=True):
            item = f.to_json()
            # the colliding thing and how many configs the finding stands for
            item["data"] = {**item["data"], "what": f.data.get("what", ""), "configs": n}
            findings.append(item)
        return {
            "verdict": self.verdict.upper(),  # findings.Verdict: SAFE | UNSAFE | UNKNOWN
            "proposal": self.proposal.to_json(),
            "checked": self.source,
            "configs_checked": self.configs_checked,
            "configs_unsafe": self.configs_unsafe,
            "configs_colliding": self.configs_colliding,
            "groups": self.groups,
            "relevant": list(self.relevant),
            "lifecycle": self.lifecycle,
            "unknown": list(self.unknown),
            "findings": findings,
            "explanation": self.explanation,
            "releases": [r.to_json() for r in self.releases],
            "by_release": self.by_release,
        }


