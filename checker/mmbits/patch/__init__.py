"""mmbits patch: what a patch does to page descriptor bits, checkpatch style.

`diff` reads unified diffs and mboxes, `extract` finds what the patch adds to
descriptor bit space, `scan` proves each candidate with the prover, `output`
prints checkpatch-like text or terse lines (JSON is `results.PatchResult.to_json`).
"""

from mmbits.patch.diff import parse
from mmbits.patch.scan import PatchFinding, PatchReport, ProposalAnswer, Scanner, scan_patches

__all__ = ["PatchFinding", "PatchReport", "ProposalAnswer", "Scanner", "parse", "scan_patches"]
