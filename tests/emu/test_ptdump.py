"""Software walkers and locks: the 2026 ptdump / vmap race (syzbot
fd95a72470f5a44e464c; "mm: fix UAF caused by race between ptdump and vmap
pgtable freeing", v1-v3 July 2026), its fix, and the fix combined with
arm64's own mitigation, which deadlocks through rwsem writer preference.
Each verdict comes from exploring the interleavings of the walker, the vmap
promotion and the worker over the bytes and the lock state."""

from __future__ import annotations

from .helpers import simulate_json as simulate
from .helpers import sva

SMALL = {"cpus": 1, "ops": 1, "only": ("huge-pmd",), "mode": "exhaustive"}


def _threads(finding: dict) -> list[str]:
    return [s["thread"] for s in finding["data"]["schedule"] if s["thread"] != "iommu"]


def test_ptdump_race_walker_reads_the_freed_pte_table() -> None:
    result = simulate(sva(), "ptdump-race", **SMALL)
    assert result["explored"]["complete"]
    (f,) = result["findings"]
    assert f["kind"] == "walker-use-after-free"
    assert f["where"]["detail"] == "ptdump_walk_pgd: read PTE table (huge-pmd)"
    # the walk and the free interleave: ptdump holds the write lock, reads the
    # PMD entry, cpu0 unlinks and queues the table, the worker frees it, and
    # the walker's next level reads it
    threads = _threads(f)
    first_cpu = threads.index("cpu0")
    assert "ptdump" in threads[:first_cpu] and threads[-1] == "ptdump" and "worker" in threads
    steps = [s["step"] for s in f["data"]["schedule"]]
    assert steps[0] == "mmap_write_lock()" and steps[-1].startswith("ptdump_walk(")
    assert f["data"]["before"]["dump"][-1].startswith("page_type: f0(buddy)") or any(
        line.startswith("page_type: f0(buddy)") for line in f["data"]["before"]["dump"])


def test_without_sva_the_walker_race_is_still_there() -> None:
    """The deferral protects against the IOMMU only; it is not RCU."""
    from mmbits.kconfig.presets import preset

    result = simulate(preset("x86_64-6.18"), "ptdump-race", **SMALL, async_free=False)
    assert [f["kind"] for f in result["findings"]] == ["walker-use-after-free"]


def test_ptdump_fixed_is_safe_and_complete() -> None:
    result = simulate(sva(), "ptdump-fixed", **SMALL)
    assert result["verdict"] == "SAFE" and result["explored"]["complete"], result["findings"]


def test_ptdump_arm64_both_deadlocks() -> None:
    result = simulate(sva(), "ptdump-arm64-both", **SMALL)
    (f,) = result["findings"]
    assert f["kind"] == "deadlock"
    assert "cpu0 waits in mmap_read_lock()" in f["message"]
    assert "ptdump waits in mmap_write_acquire()" in f["message"]
    assert "held for read by cpu0, writers queued: ptdump" in f["message"]
    steps = [(s["thread"], s["step"]) for s in f["data"]["schedule"]]
    # the schedule that gets there: cpu0 takes the read lock (trylock) before
    # ptdump queues for write, the key is on when cpu0 frees, so cpu0 blocks on
    # the nested read (the key and the read lock are independent: either order)
    names = [step for _, step in steps]
    assert names.index("vmap_huge_pmd_locked(0xffffc90000200000)") < names.index("mmap_write_lock()")
    assert names.index("ptdump_key(1)") < names.index("pmd_free_pte_page(0xffffc90000200000)")
    assert steps[-1][0] == "-"
