"""The answer of a domain proof, kept apart from the engine so that printing a
cached answer (mmbits.prover.cache) imports nothing of the prover."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mmbits.findings import Finding
from mmbits.proposal import Proposal
from mmbits.prover.releases import ReleaseTally, summary


@dataclass
class CheckResult:
    proposal: Proposal
    source: str  # what was checked: a domain name, a preset, a .config
    verdict: str  # safe | unsafe | unknown (a part of the analysis could not run: see `unknown`)
    configs_checked: int
    configs_unsafe: int
    configs_colliding: int
    groups: int
    findings: list[Finding]
    counts: list[int]  # configs per finding, same order
    explanation: list[str]
    seconds: float
    relevant: tuple[str, ...] = ()
    lifecycle: str = "not requested"  # checked | not requested | emulator missing | emulator failed
    unknown: list[str] = field(default_factory=list)  # why the verdict cannot be SAFE
    cached: bool = False  # read back from the answer cache (mmbits.prover.cache)
    # the static proof per kernel release, oldest first (prover.releases)
    releases: list[ReleaseTally] = field(default_factory=list)

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


