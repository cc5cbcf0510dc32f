"""Lifecycle findings of a marking proposal, for `mmbits check`.

`run_proposal(proposal, config)` plugs the proposal's bit (its word, C
expression, page kind and set/test/clear steps) into the fixed v6.19 deferred
free design (mmbits.emu.variants.PROPOSAL_BASE) in place of PT_kernel and runs the workload on the emulator --
the same path as `mmbits simulate --proposal FILE` -- on one schedule
(every operation of the arch in turn, the worker whenever work is pending;
with ASYNC_KERNEL_PGTABLE_FREE forced on when the proposal acts at `enqueue`
or `worker`, steps that only exist on the deferred path).
What comes back is what the bytes did to the bit: `wiped-before-test`,
`stale-after-free`, `bad-page-at-free`, `always-true`, and whatever else the
run hit because of it (an IOMMU use-after-free when tables stop being
recognised as kernel tables, a VM_BUG_ON from __SetPageTable ...).

Static problems of the expression itself (undefined shifts, sign extension)
are the prover's. A proposal without set/test/clear steps, whose page kind is
not a page table, whose word is not struct page bytes, or whose expression
gives no bits on this config has no lifecycle here: the result is empty.
"""

from __future__ import annotations

from mmbits.emu.marking import PAGE_OVERLAYS
from mmbits.emu.simulate import simulate
from mmbits.emu.variants import PROPOSAL_BASE
from mmbits.findings import Finding
from mmbits.kconfig.config import Config
from mmbits.proposal import Proposal

# page kinds whose life the emulator runs (kinds.yaml)
LIFECYCLE_KINDS = ("kernel-pgtable", "pgtable")
# enough struct pages for a PMD-sized (order 9, or 10 on 2-level i386) block
LIFECYCLE_PAGES = 2048

_cache: dict[tuple[Proposal, Config], list[Finding]] = {}


def run_proposal(proposal: Proposal, config: Config) -> list[Finding]:
    """Lifecycle findings of `proposal` on `config` (empty when it is clean).
    Raises mmbits.errors.InputError for a word the layouts do not have."""
    if not proposal.lifecycle or (proposal.kind or "kernel-pgtable") not in LIFECYCLE_KINDS:
        return []
    if proposal.struct not in PAGE_OVERLAYS:
        return []  # a word that is not struct page bytes has no page-table lifecycle here
    key = (proposal, config)
    hit = _cache.get(key)
    if hit is None:
        from mmbits.emu.facts import facts_for
        from mmbits.emu.marking import Marking

        marking = Marking.from_proposal(proposal).resolve(facts_for(config))
        if marking.bits == 0:
            hit = []
        else:
            ops = len(facts_for(config).ops)
            # a bit set or tested on the deferred path needs that path: run it
            # with ASYNC_KERNEL_PGTABLE_FREE whatever the config selects
            steps = {proposal.set_at, proposal.test_at, proposal.clear_at}
            async_free = True if steps & {"enqueue", "worker"} else None
            result = simulate(config, PROPOSAL_BASE, proposal=proposal, cpus=1, ops=max(ops, 1), mode="sequential",
                              npages=LIFECYCLE_PAGES, async_free=async_free, detail=True)
            hit = [Finding(f["kind"], f["message"], f.get("config"), f.get("where"), f.get("severity", "error"),
                           dict(f.get("data") or {}))
                   for f in result["findings"] if f["kind"] not in _STATIC]
        if len(_cache) > 4096:
            _cache.clear()
        _cache[key] = hit
    return [Finding(f.kind, f.message, f.config, f.where, f.severity, dict(f.data)) for f in hit]


# reported by the static prover from the same expression
_STATIC = {"undefined-shift", "sign-extension", "unknown-name"}
