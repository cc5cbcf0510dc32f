"""Result dicts shaped like issue 4's `mmbits check --json` and issue 5's
`mmbits simulate --json`, with extra keys the writers must tolerate. The
contents restate the reference dossier's acceptance cases (the seeds'
proposals): they are inputs to the report writers, not verdicts."""

from __future__ import annotations

CHECK_UNSAFE = {
    "verdict": "unsafe",
    "configs_checked": 116736,
    "configs_colliding": 39296,
    "proposal": {"expr": "BIT(NR_PAGEFLAGS)", "word": "ptdesc.pt_flags", "kind": "kernel-pgtable",
                 "name": "ASYNC_PGTABLE_FREE_DTOR"},
    "findings": [
        {"kind": "collision", "message": "BIT(NR_PAGEFLAGS) is bit 25 = LRU_REFS bit 0 on x86_64-maxsmp",
         "config": "x86_64-maxsmp", "where": "page.flags bit 25", "data": {"bit": 25, "field": "lru_refs"}},
        {"kind": "collision", "message": "compressed allocation tags claim bits 22-50",
         "config": "x86_64-defconfig-lru-gen+MEM_ALLOC_PROFILING=1,MEM_PROFILING_COMPRESSED=1",
         "where": "page.flags bits 22-50"},
        {"kind": "stale-after-free", "message": "the bit is not in PAGE_FLAGS_CHECK_AT_PREP: left set for the next "
         "owner", "config": None, "where": "ptdesc.pt_flags", "severity": "warning"},
    ],
    "elapsed_seconds": 0.8,
    "future_key": {"nested": [1, 2, 3]},
}

CHECK_SAFE = {"verdict": "safe", "configs_checked": 14,
              "proposal": {"expr": "PG_referenced", "word": "ptdesc.pt_flags", "kind": "kernel-pgtable"},
              "findings": []}

SIM_UNSAFE = {
    "verdict": "unsafe",
    "variant": "memdesc-ptdesc",
    "config": "x86_64-6.18",
    "explored": {"schedules": 1260, "states": 48211, "seconds": 2.4},
    "findings": [{
        "kind": "memdesc-clobbered",
        "message": "list_del(&page->lru) wrote LIST_POISON2 over page->memdesc",
        "config": "x86_64-6.18",
        "where": "step 5",
        "data": {
            "schedule": [
                {"cpu": 0, "op": "pagetable_alloc", "page": 3},
                {"cpu": 0, "op": "ptdesc_set_kernel", "page": 3},
                {"actor": "CPU1", "op": "list_add", "list": "cpa_pages", "page": 3},
                "worker: splice pgtable_free_work",
                {"cpu": 1, "op": "list_del", "page": 3},
                ["iommu", "walk", "page 3"],
            ],
            "before": {"memdesc": 0xFFFF888119A59423, "lru": {"prev": 0xFFFF888100001000}, "_refcount": 1},
            "after": {"memdesc": 0xDEAD000000000122, "lru": {"prev": 0xDEAD000000000122}, "_refcount": 1},
            "extra_debug": "kept",
        },
    }],
    "seed": 1,
}

SIM_SAFE = {"verdict": "safe", "variant": "v6.19+fixes+hotplug", "config": {"name": "x86_64-6.18"},
            "explored": {"schedules": 4096}, "findings": []}
