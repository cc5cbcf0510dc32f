"""The example reports committed under reports/, and how to regenerate them.

`python -m mmbits.report.examples [DIR]` rewrites them (default: reports/);
tests/report/test_examples.py regenerates them into a temporary directory and
compares byte for byte, so the committed files always match the code. To add
an example (a seed's proposal through `mmbits check`, a `simulate` variant),
append a writer to EXAMPLES.

Every example is deterministic and cheap: the check reports prove the seeds'
proposals over the `default` domain exactly as `mmbits check --proposal`
does; the simulation reports run small exhaustive workloads, and the run's
wall-clock figures (explored.seconds, states_per_second) are left out of the
committed files.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from mmbits.proposal import Proposal
from mmbits.report.api import write_check_report, write_layout_report, write_simulation_report
from mmbits.report.sim_report import VOLATILE_KEYS

# The proposals argued in the seeds (shared/seeds/) and the merged design; the same
# proposals as tests/data/proposals/*.yaml, restated here so the package does not read
# the test tree.
PROPOSALS: dict[str, Proposal] = {
    # seeds/001 (Baolu's one-list draft, 2025-08-27): "#define ASYNC_PGTABLE_FREE_DTOR
    # BIT(NR_PAGEFLAGS)"; Dave Hansen: "Don't you need to _allocate_ a new bit?"
    "async_pgtable_free_dtor": Proposal(
        expr="BIT(NR_PAGEFLAGS)", word="ptdesc.pt_flags", kind="kernel-pgtable", name="ASYNC_PGTABLE_FREE_DTOR",
        set_at="enqueue", test_at="worker", clear_at="never"),
    # seeds/001 (Dave Hansen: "I'm pretty sure the lower 24 bits of ptdesc->__page_type are
    # free ... #define PTDESC_TYPE_KERNEL BIT(0)"), set in pte_free_kernel()
    "ptdesc_type_kernel": Proposal(
        expr="BIT(0)", word="ptdesc.__page_type", kind="kernel-pgtable", name="PTDESC_TYPE_KERNEL",
        set_at="pte_free_kernel", test_at="pagetable_free", clear_at="never"),
    # the merged design (upstream 27bfafac65d8, v6.19): enum pt_flags { PT_kernel =
    # PG_referenced }, set at allocation, cleared in pagetable_free()
    "pt_kernel": Proposal(
        expr="PG_referenced", word="ptdesc.pt_flags", kind="kernel-pgtable", name="PT_kernel",
        set_at="mark", test_at="pagetable_free", clear_at="pagetable_free"),
    # seeds/002-004 (memdescs): may a new memdesc type take the value 4 while buddy_list
    # still overlays the memdesc word (Memdescs/Path interim layout)?
    "memdesc_type4": Proposal(expr="4", word="page_memdesc.memdesc", name="Movable"),
}

# (variant, keyword arguments of mmbits.emu.simulate.simulate): small exhaustive runs
SIMULATIONS: dict[str, dict[str, Any]] = {
    # v6.19 with its fixes and hot-add tables marked: every interleaving of three CPUs (a huge PMD mapping, memory
    # hot-remove, a CPA split and collapse), the worker and the IOMMU: the operations
    # the two failing variants below fail on
    "v6.19+fixes+hotplug": {"cpus": 3, "ops": 1, "only": ("huge-pmd", "hot-remove", "cpa")},
    # seeds/004: ptdesc separated from struct page while page->lru is still used; the
    # CPA split table of collapse_large_pages() has LIST_POISON2 in page->memdesc
    "memdesc-ptdesc": {"cpus": 2, "ops": 1, "only": ("huge-pmd", "cpa")},
    # v6.19 as merged (section 3.2): hot-remove frees a non-compound order-9 vmemmap
    # block through pagetable_free(), which frees compound_order() = 0 pages
    "v6.19": {"cpus": 1, "ops": 1, "only": ("hot-remove",)},
}
SIM_PRESET = "x86_64-6.18"


@cache
def check_result(key: str) -> dict[str, Any]:
    """`mmbits check --proposal` of a seed's proposal over the default domain, as JSON."""
    from mmbits.kconfig.domain import load_domain
    from mmbits.prover import check

    return check(PROPOSALS[key], domain=load_domain("default"), source="domain default").to_json()


@cache
def simulation_result(variant: str) -> dict[str, Any]:
    """`mmbits simulate --variant V` with IOMMU_SVA on (as the CLI does), wall-clock figures dropped."""
    from mmbits.cli.common import select
    from mmbits.emu.simulate import simulate

    config = select(SIM_PRESET, None, None, ["IOMMU_SVA=y"]).config
    result = simulate(config, variant, mode="exhaustive", **SIMULATIONS[variant]).to_json()
    explored = result.get("explored")
    if isinstance(explored, dict):
        result["explored"] = {k: v for k, v in explored.items() if k not in VOLATILE_KEYS}
    return result


def _layout(fmt: str) -> Callable[[Path], list[Path]]:
    def write(out: Path) -> list[Path]:
        from mmbits.kconfig.presets import preset

        return write_layout_report(out, fmt, preset("x86_64-6.18"), "default")

    return write


def _check(key: str, fmt: str) -> Callable[[Path], list[Path]]:
    def write(out: Path) -> list[Path]:
        return write_check_report(check_result(key), out, fmt)

    return write


def _simulation(variant: str, fmt: str) -> Callable[[Path], list[Path]]:
    def write(out: Path) -> list[Path]:
        return write_simulation_report(simulation_result(variant), out, fmt)

    return write


# name -> writer(out_dir) returning the files written
EXAMPLES: dict[str, Callable[[Path], list[Path]]] = {
    "layout report of the reference kernel (HTML)": _layout("html"),
    "layout report of the reference kernel (Markdown)": _layout("md"),
}
for _key, _proposal in PROPOSALS.items():
    for _fmt, _fmt_name in (("html", "HTML"), ("md", "Markdown")):
        EXAMPLES[f"check report of {_proposal.label()} ({_fmt_name})"] = _check(_key, _fmt)
for _variant in SIMULATIONS:
    for _fmt, _fmt_name in (("html", "HTML"), ("md", "Markdown")):
        EXAMPLES[f"simulation report of the {_variant} design ({_fmt_name})"] = _simulation(_variant, _fmt)


def write_examples(out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    written: list[Path] = []
    for writer in EXAMPLES.values():
        written.extend(writer(out))
    return written


if __name__ == "__main__":
    for path in write_examples(sys.argv[1] if len(sys.argv) > 1 else "reports"):
        print(path)
