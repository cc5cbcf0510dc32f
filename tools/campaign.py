#!/usr/bin/env python3
"""campaign.py - run kernel_truth.py over many configs, versions and arches.

Jobs are produced in waves (round-robin over (version, arch-variant)) so that a
run stopped at any time has broad coverage.  Every job has a stable id; jobs
already present in the output files are skipped, so the campaign can resume.
Random variants are seeded by (seed, version, arch-variant, index) and the
applied overrides are stored in each record.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kernel_truth as kt  # noqa: E402


@dataclass(frozen=True)
class ArchVariant:
    key: str
    arch: str
    cross: str
    defconfigs: tuple[str, ...]
    debian_names: tuple[str, ...]   # arch names used in Debian config file names


ARCHES: list[ArchVariant] = [
    ArchVariant("x86_64", "x86_64", "", ("x86_64_defconfig",), ("amd64",)),
    ArchVariant("i386", "i386", "i686-linux-gnu-", ("i386_defconfig",), ("686", "686-pae", "i386")),
    ArchVariant("arm64", "arm64", "aarch64-linux-gnu-", ("defconfig",), ("arm64",)),
    ArchVariant("arm", "arm", "arm-linux-gnueabihf-",
                ("multi_v7_defconfig", "imx_v6_v7_defconfig", "multi_v5_defconfig",
                 "omap2plus_defconfig", "vexpress_defconfig"), ("armmp", "armhf", "armmp-lpae", "armel")),
    ArchVariant("ppc64le", "powerpc", "powerpc64le-linux-gnu-",
                ("ppc64le_defconfig", "powernv_defconfig", "pseries_le_defconfig"), ("ppc64el",)),
    ArchVariant("ppc64", "powerpc", "powerpc64-linux-gnu-",
                ("ppc64_defconfig", "g5_defconfig", "corenet64_smp_defconfig", "ps3_defconfig",
                 "pseries_defconfig"), ("ppc64", "powerpc64")),
    ArchVariant("ppc32", "powerpc", "powerpc-linux-gnu-",
                ("pmac32_defconfig", "ppc6xx_defconfig", "corenet32_smp_defconfig",
                 "ppc44x_defconfig", "mpc885_ads_defconfig"), ("powerpc",)),
    ArchVariant("s390", "s390", "s390x-linux-gnu-", ("defconfig", "debug_defconfig"), ("s390x",)),
    ArchVariant("riscv64", "riscv", "riscv64-linux-gnu-", ("defconfig", "nommu_virt_defconfig"), ("riscv64",)),
    ArchVariant("riscv32", "riscv", "riscv64-linux-gnu-", ("rv32_defconfig",), ()),
]

Opt = dict[str, str]

COMMON: list[list[Opt]] = [
    [{"NUMA": "y"}, {"NUMA": "n"}],
    [{"NODES_SHIFT": v} for v in ("1", "2", "3", "4", "6", "8", "10")],
    [{"NR_CPUS": v} for v in ("2", "4", "8", "32", "64", "256", "512", "1024", "2048", "4096", "8192")],
    [{"LRU_GEN": "y", "LRU_GEN_ENABLED": "y"}, {"LRU_GEN": "y"}, {"LRU_GEN": "n"}],
    [{"MEMCG": "y", "CGROUPS": "y"}, {"MEMCG": "n"}],
    [{"NUMA_BALANCING": "y"}, {"NUMA_BALANCING": "n"}],
    [{"ZONE_DMA": "y"}, {"ZONE_DMA": "n"}],
    [{"ZONE_DMA32": "y"}, {"ZONE_DMA32": "n"}],
    [{"ZONE_DEVICE": "y", "MEMORY_HOTPLUG": "y", "MEMORY_HOTREMOVE": "y", "SPARSEMEM_VMEMMAP": "y"},
     {"ZONE_DEVICE": "n"}],
    [{"MEMORY_FAILURE": "y"}, {"MEMORY_FAILURE": "n"}],
    [{"TRANSPARENT_HUGEPAGE": "y"}, {"TRANSPARENT_HUGEPAGE": "n"}],
    [{"KSM": "y"}, {"KSM": "n"}],
    [{"IDLE_PAGE_TRACKING": "y", "PAGE_IDLE_FLAG": "y"}, {"IDLE_PAGE_TRACKING": "n"}],
    [{"SPARSEMEM_VMEMMAP": "n"}, {"SPARSEMEM_VMEMMAP": "y"}],
    [{"KASAN": "y", "KASAN_GENERIC": "y"}, {"KASAN": "n"}],
    [{"HUGETLBFS": "y", "HUGETLB_PAGE": "y"}, {"HUGETLBFS": "n"}],
    [{"MIGRATION": "n"}, {"SWAP": "n"}, {"USERFAULTFD": "y"}],
    [{"DEBUG_VM": "y"}, {"MEM_PROFILING": "y"}, {"PAGE_EXTENSION": "y", "PAGE_OWNER": "y"}],
    [{"SMP": "n"}, {"SMP": "y"}],
]

PER_ARCH: dict[str, list[list[Opt]]] = {
    "x86_64": [
        [{"MAXSMP": "y"}, {"MAXSMP": "n"}],
        [{"X86_5LEVEL": "n"}, {"X86_5LEVEL": "y"}],
        [{"HYPERVISOR_GUEST": "y", "PARAVIRT": "y", "XEN": "y", "XEN_PV": "y"}],
    ],
    "i386": [
        [{"NOHIGHMEM": "y", "HIGHMEM4G": "n", "HIGHMEM64G": "n"},
         {"HIGHMEM4G": "y", "NOHIGHMEM": "n", "HIGHMEM64G": "n"},
         {"HIGHMEM64G": "y", "NOHIGHMEM": "n", "HIGHMEM4G": "n", "X86_PAE": "y"}],
        [{"X86_BIGSMP": "y", "HIGHMEM64G": "y", "NOHIGHMEM": "n", "HIGHMEM4G": "n", "NUMA": "y"}],
        [{"FLATMEM_MANUAL": "y", "SPARSEMEM_MANUAL": "n"}, {"SPARSEMEM_MANUAL": "y", "FLATMEM_MANUAL": "n"}],
    ],
    "arm64": [
        [{"ARM64_4K_PAGES": "y", "ARM64_16K_PAGES": "n", "ARM64_64K_PAGES": "n"},
         {"ARM64_16K_PAGES": "y", "ARM64_4K_PAGES": "n", "ARM64_64K_PAGES": "n"},
         {"ARM64_64K_PAGES": "y", "ARM64_4K_PAGES": "n", "ARM64_16K_PAGES": "n"}],
        [{"ARM64_VA_BITS_39": "y", "ARM64_VA_BITS_48": "n"}, {"ARM64_VA_BITS_52": "y", "ARM64_VA_BITS_48": "n"},
         {"ARM64_VA_BITS_47": "y", "ARM64_VA_BITS_48": "n"}, {"ARM64_VA_BITS_42": "y", "ARM64_VA_BITS_48": "n"}],
        [{"KASAN": "y", "KASAN_SW_TAGS": "y", "KASAN_GENERIC": "n"},
         {"KASAN": "y", "KASAN_HW_TAGS": "y", "KASAN_GENERIC": "n", "ARM64_MTE": "y"},
         {"KASAN": "y", "KASAN_GENERIC": "y"}],
        [{"CPU_BIG_ENDIAN": "y", "CPU_LITTLE_ENDIAN": "n"}],
        [{"ARM64_PA_BITS_52": "y", "ARM64_64K_PAGES": "y", "ARM64_4K_PAGES": "n"}],
    ],
    "arm": [
        [{"ARM_LPAE": "y"}, {"ARM_LPAE": "n"}],
        [{"HIGHMEM": "y"}, {"HIGHMEM": "n"}],
        [{"NR_CPUS": v} for v in ("2", "4", "8", "16", "32")],
        [{"SPARSEMEM_MANUAL": "y", "FLATMEM_MANUAL": "n"}, {"FLATMEM_MANUAL": "y", "SPARSEMEM_MANUAL": "n"}],
    ],
    "ppc64le": [
        [{"PPC_4K_PAGES": "y", "PPC_64K_PAGES": "n"}, {"PPC_64K_PAGES": "y", "PPC_4K_PAGES": "n"}],
        [{"PPC_RADIX_MMU": "n"}, {"PPC_RADIX_MMU": "y"}],
    ],
    "ppc64": [
        [{"PPC_4K_PAGES": "y", "PPC_64K_PAGES": "n"}, {"PPC_64K_PAGES": "y", "PPC_4K_PAGES": "n"}],
    ],
    "ppc32": [
        [{"PPC_4K_PAGES": "y"}, {"PPC_16K_PAGES": "y", "PPC_4K_PAGES": "n"},
         {"PPC_64K_PAGES": "y", "PPC_4K_PAGES": "n"}, {"PPC_256K_PAGES": "y", "PPC_4K_PAGES": "n"}],
        [{"HIGHMEM": "y"}, {"HIGHMEM": "n"}],
        [{"FLATMEM_MANUAL": "y", "SPARSEMEM_MANUAL": "n"}, {"SPARSEMEM_MANUAL": "y", "FLATMEM_MANUAL": "n"}],
    ],
    "s390": [[{"KASAN": "y", "KASAN_GENERIC": "y", "KASAN_VMALLOC": "y"}]],
    "riscv64": [[{"NONPORTABLE": "y", "SPARSEMEM_VMEMMAP": "n"}]],
    "riscv32": [[{"HIGHMEM": "y"}]],
}


def random_overrides(rng: random.Random, av: ArchVariant) -> list[str]:
    groups = COMMON + PER_ARCH.get(av.key, [])
    chosen: dict[str, str] = {}
    for g in groups:
        if rng.random() < 0.45:
            chosen.update(rng.choice(g))
    if chosen.get("NR_CPUS") and int(chosen["NR_CPUS"]) > 512 and av.key == "x86_64":
        chosen["MAXSMP"] = "y"
    return [f"{k}={v}" for k, v in chosen.items()]


def debian_configs(kdirs: list[Path], av: ArchVariant) -> list[Path]:
    out: list[Path] = []
    for d in kdirs:
        if not d.is_dir():
            continue
        for f in sorted(d.iterdir()):
            n = f.name
            if not (".config" in n or n.startswith("config.")):
                continue
            if not n.endswith((".xz", ".config")):
                continue
            tags = n.replace(".config", "").replace(".xz", "").replace("config.", "")
            parts = set(tags.replace("_", "-").split("-")) | set(tags.split("_"))
            if any(dn in parts for dn in av.debian_names):
                out.append(f)
    return out


@dataclass
class Spec:
    id: str
    version_dir: str
    av: ArchVariant
    base: str
    overrides: list[str]
    label: str
    extra: dict[str, object]


def jobs(trees: list[Path], seed: int, kdirs: list[Path], max_random: int) -> Iterator[Spec]:
    combos = [(t, av) for av in ARCHES for t in trees]

    def vkey(t: Path) -> str:
        return t.name.replace("linux-", "")

    # wave 1: primary defconfig everywhere
    for t, av in combos:
        yield Spec(f"{vkey(t)}/{av.key}/{av.defconfigs[0]}", t.name, av, av.defconfigs[0], [], "defconfig", {})
    # wave 2: one random variant everywhere
    def rnd(t: Path, av: ArchVariant, i: int) -> Spec:
        rng = random.Random(f"{seed}/{vkey(t)}/{av.key}/{i}")
        base = av.defconfigs[0] if rng.random() < 0.7 else rng.choice(av.defconfigs)
        ov = random_overrides(rng, av)
        return Spec(f"{vkey(t)}/{av.key}/random{i}", t.name, av, base, ov, "random",
                    {"seed": seed, "random_index": i})
    for t, av in combos:
        yield rnd(t, av, 0)
    # wave 3: Debian configs, allnoconfig
    for t, av in combos:
        for f in debian_configs(kdirs, av):
            yield Spec(f"{vkey(t)}/{av.key}/debian:{f.name}", t.name, av, str(f), [], "debian-config",
                       {"config_file": f.name})
    for t, av in combos:
        yield Spec(f"{vkey(t)}/{av.key}/allnoconfig", t.name, av, "allnoconfig", [], "allnoconfig", {})
    # wave 4: other defconfigs + random; then random forever
    for t, av in combos:
        for d in av.defconfigs[1:]:
            yield Spec(f"{vkey(t)}/{av.key}/{d}", t.name, av, d, [], "defconfig", {})
        yield rnd(t, av, 1)
    for t, av in combos:
        yield Spec(f"{vkey(t)}/{av.key}/tinyconfig", t.name, av, "tinyconfig", [], "tinyconfig", {})
    for i in range(2, max_random):
        for t, av in combos:
            yield rnd(t, av, i)


# Named variants (job id "<version>/<arch-variant>/named:<name>"): one
# deliberate change each, chosen to move a page->flags field (NODES, SECTIONS,
# KASAN tag, LRU_GEN/LRU_REFS, LAST_CPUPID, ZONES) or an enum pageflags
# member.  base None = the arch variant's primary defconfig.
Named = tuple[str, "str | None", tuple[str, ...]]
NAMED: dict[str, list[Named]] = {
    "x86_64": [
        ("numa-nodes10-maxsmp", None, ("NUMA=y", "NODES_SHIFT=10", "MAXSMP=y")),
        ("xen-pv", None, ("HYPERVISOR_GUEST=y", "PARAVIRT=y", "XEN=y", "XEN_PV=y")),
        ("kasan-generic", None, ("KASAN=y", "KASAN_GENERIC=y")),
        ("lru-gen-on", None, ("LRU_GEN=y", "LRU_GEN_ENABLED=y", "MEMCG=y")),
        ("nonuma-cpus8-nomemcg", None, ("NUMA=n", "NR_CPUS=8", "MEMCG=n", "LRU_GEN=n")),
        ("zone-device-idle", None, ("ZONE_DEVICE=y", "MEMORY_HOTPLUG=y", "MEMORY_HOTREMOVE=y",
                                    "IDLE_PAGE_TRACKING=y", "MEMORY_FAILURE=y")),
        ("debug-vm-page-owner", None, ("DEBUG_VM=y", "PAGE_EXTENSION=y", "PAGE_OWNER=y", "MEM_PROFILING=y")),
        ("5level-numa6", None, ("X86_5LEVEL=y", "NUMA=y", "NODES_SHIFT=6", "NR_CPUS=512")),
    ],
    "i386": [
        ("pae", None, ("HIGHMEM64G=y", "NOHIGHMEM=n", "HIGHMEM4G=n", "X86_PAE=y")),
        ("nohighmem", None, ("NOHIGHMEM=y", "HIGHMEM4G=n", "HIGHMEM64G=n")),
        ("flatmem", None, ("FLATMEM_MANUAL=y", "SPARSEMEM_MANUAL=n")),
        ("sparsemem-pae", None, ("SPARSEMEM_MANUAL=y", "FLATMEM_MANUAL=n", "HIGHMEM64G=y", "X86_PAE=y",
                                 "NOHIGHMEM=n", "HIGHMEM4G=n")),
        ("bigsmp-numa", None, ("X86_BIGSMP=y", "HIGHMEM64G=y", "X86_PAE=y", "NOHIGHMEM=n", "HIGHMEM4G=n",
                               "NUMA=y", "NODES_SHIFT=3")),
        ("lru-gen-memcg", None, ("LRU_GEN=y", "LRU_GEN_ENABLED=y", "MEMCG=y", "CGROUPS=y")),
        ("nosmp", None, ("SMP=n",)),
    ],
    "arm64": [
        ("16k", None, ("ARM64_16K_PAGES=y", "ARM64_4K_PAGES=n")),
        ("64k", None, ("ARM64_64K_PAGES=y", "ARM64_4K_PAGES=n")),
        ("64k-pa52", None, ("ARM64_64K_PAGES=y", "ARM64_4K_PAGES=n", "ARM64_VA_BITS_52=y",
                            "ARM64_VA_BITS_48=n", "ARM64_PA_BITS_52=y", "ARM64_PA_BITS_48=n")),
        ("kasan-generic", None, ("KASAN=y", "KASAN_GENERIC=y")),
        ("kasan-sw-tags", None, ("KASAN=y", "KASAN_SW_TAGS=y", "KASAN_GENERIC=n")),
        ("kasan-hw-tags", None, ("KASAN=y", "KASAN_HW_TAGS=y", "KASAN_GENERIC=n", "ARM64_MTE=y")),
        ("kasan-sw-tags-16k-nodes10", None, ("KASAN=y", "KASAN_SW_TAGS=y", "KASAN_GENERIC=n",
                                             "ARM64_16K_PAGES=y", "ARM64_4K_PAGES=n", "NODES_SHIFT=10")),
        ("numa-nodes10-cpus4096", None, ("NUMA=y", "NODES_SHIFT=10", "NR_CPUS=4096")),
        ("va39-nolrugen-nomemcg", None, ("ARM64_VA_BITS_39=y", "ARM64_VA_BITS_48=n", "LRU_GEN=n", "MEMCG=n")),
        ("lru-gen-on", None, ("LRU_GEN=y", "LRU_GEN_ENABLED=y", "MEMCG=y")),
        ("big-endian", None, ("CPU_BIG_ENDIAN=y", "CPU_LITTLE_ENDIAN=n")),
    ],
    "arm": [
        ("lpae", None, ("ARM_LPAE=y",)),
        ("nohighmem", None, ("HIGHMEM=n",)),
        ("lru-gen-memcg", None, ("LRU_GEN=y", "LRU_GEN_ENABLED=y", "MEMCG=y")),
        ("kasan-generic", None, ("KASAN=y", "KASAN_GENERIC=y")),
        ("nosmp", None, ("SMP=n",)),
        ("v5-sparsemem", "multi_v5_defconfig", ("SPARSEMEM_MANUAL=y", "FLATMEM_MANUAL=n")),
    ],
    "ppc64le": [
        ("4k", None, ("PPC_4K_PAGES=y", "PPC_64K_PAGES=n")),
        ("hash-only", None, ("PPC_RADIX_MMU=n",)),
        ("kasan-generic", None, ("KASAN=y", "KASAN_GENERIC=y")),
        ("nodes4-cpus8-lru-gen", None, ("NODES_SHIFT=4", "NR_CPUS=8", "LRU_GEN=y", "LRU_GEN_ENABLED=y")),
        ("4k-nodes10", None, ("PPC_4K_PAGES=y", "PPC_64K_PAGES=n", "NODES_SHIFT=10", "NR_CPUS=8192")),
    ],
    "ppc64": [
        ("4k", None, ("PPC_4K_PAGES=y", "PPC_64K_PAGES=n")),
        ("nonuma-nomemcg", None, ("NUMA=n", "MEMCG=n", "LRU_GEN=n")),
        ("lru-gen-on", None, ("LRU_GEN=y", "LRU_GEN_ENABLED=y", "MEMCG=y")),
    ],
    "ppc32": [
        ("44x-16k", "ppc44x_defconfig", ("PPC_16K_PAGES=y", "PPC_4K_PAGES=n")),
        ("44x-64k", "ppc44x_defconfig", ("PPC_64K_PAGES=y", "PPC_4K_PAGES=n")),
        ("44x-256k", "ppc44x_defconfig", ("PPC_256K_PAGES=y", "PPC_4K_PAGES=n")),
        ("nohighmem", None, ("HIGHMEM=n",)),
        ("lru-gen-memcg", None, ("LRU_GEN=y", "LRU_GEN_ENABLED=y", "MEMCG=y")),
    ],
    "s390": [
        ("kasan-generic", None, ("KASAN=y", "KASAN_GENERIC=y", "KASAN_VMALLOC=y")),
        ("cpus8-nomemcg", None, ("NR_CPUS=8", "MEMCG=n", "LRU_GEN=n")),
        ("lru-gen-on", None, ("LRU_GEN=y", "LRU_GEN_ENABLED=y")),
    ],
    "riscv64": [
        ("nonportable-novmemmap", None, ("NONPORTABLE=y", "SPARSEMEM_VMEMMAP=n")),
        ("numa-nodes10-cpus512", None, ("NUMA=y", "NODES_SHIFT=10", "NR_CPUS=512")),
        ("kasan-generic", None, ("KASAN=y", "KASAN_GENERIC=y")),
        ("lru-gen-on", None, ("LRU_GEN=y", "LRU_GEN_ENABLED=y", "MEMCG=y")),
    ],
    "riscv32": [
        ("nosmp-nomemcg", None, ("SMP=n", "MEMCG=n", "LRU_GEN=n")),
        ("lru-gen-on", None, ("LRU_GEN=y", "LRU_GEN_ENABLED=y", "MEMCG=y")),
    ],
}
# allnoconfig/tinyconfig on powerpc/riscv give the default (32-bit or 64-bit)
# machine whatever the cross compiler: only run them where that is the variant.
TINY_VARIANTS = ("x86_64", "i386", "arm64", "arm", "ppc32", "s390", "riscv64")


def named_jobs(trees: list[Path], later: list[Path]) -> Iterator[Spec]:
    """Waves over (version, arch-variant): the primary defconfig, then named
    variant i for every pair, the other named defconfigs, allnoconfig and
    tinyconfig; `trees` go first and `later` trees after them."""
    def vkey(t: Path) -> str:
        return t.name.replace("linux-", "")

    for group in (trees, later):
        combos = [(t, av) for av in ARCHES for t in group]
        for t, av in combos:
            yield Spec(f"{vkey(t)}/{av.key}/{av.defconfigs[0]}", t.name, av, av.defconfigs[0], [], "defconfig", {})
        width = max(len(v) for v in NAMED.values())
        for i in range(width):
            for t, av in combos:
                if i < len(NAMED.get(av.key, [])):
                    name, base, ov = NAMED[av.key][i]
                    yield Spec(f"{vkey(t)}/{av.key}/named:{name}", t.name, av, base or av.defconfigs[0],
                               list(ov), "named", {"named": name})
            if i == 1:
                for t, av in combos:
                    if av.key in TINY_VARIANTS:
                        yield Spec(f"{vkey(t)}/{av.key}/allnoconfig", t.name, av, "allnoconfig", [],
                                   "allnoconfig", {})
            if i == 3:
                for t, av in combos:
                    for d in av.defconfigs[1:]:
                        yield Spec(f"{vkey(t)}/{av.key}/{d}", t.name, av, d, [], "defconfig", {})
        for t, av in combos:
            if av.key in TINY_VARIANTS:
                yield Spec(f"{vkey(t)}/{av.key}/tinyconfig", t.name, av, "tinyconfig", [], "tinyconfig", {})


def seed_host_tools(bdir: Path, build_root: Path, version_tag: str) -> str | None:
    """Before the first build in a new O= dir, copy the host-tool build
    products (scripts/) from a sibling O= dir of the same tree.  Kbuild checks
    every command line and dependency again, so anything that differs is
    rebuilt; this only avoids recompiling identical host programs (fixdep,
    kconfig, dtc, modpost, ...) for every arch."""
    if bdir.exists():
        return None
    best: tuple[int, Path] | None = None
    for sib in build_root.glob(f"{version_tag}-*"):
        fx = sib / "scripts" / "basic" / "fixdep"
        if fx.is_file():
            n = sum(1 for _ in (sib / "scripts").rglob("*.o"))
            if best is None or n > best[0]:
                best = (n, sib)
    if best is None:
        return None
    bdir.mkdir(parents=True)
    subprocess.run(["cp", "-a", str(best[1] / "scripts"), str(bdir / "scripts")], check=False)
    return best[1].name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trees", nargs="+", type=Path, required=True)
    ap.add_argument("--build-root", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="successful records (jsonl)")
    ap.add_argument("--failures", type=Path, required=True, help="failure records (jsonl)")
    ap.add_argument("--kernel-configs", nargs="*", type=Path, default=[])
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--max-random", type=int, default=40)
    ap.add_argument("--stop-at", type=float, default=0.0, help="unix time after which no new job starts")
    ap.add_argument("--only-arch", nargs="*", default=[])
    ap.add_argument("--plan", choices=("waves", "named"), default="waves",
                    help="waves: defconfig/random/Debian/allno waves; named: NAMED variants")
    ap.add_argument("--later-trees", nargs="*", type=Path, default=[],
                    help="with --plan named: trees whose jobs come after all jobs of --trees")
    ap.add_argument("--stop-file", type=Path, default=None,
                    help="if this file exists, stop before the next job")
    a = ap.parse_args()
    done: set[str] = set()
    for f in (a.out, a.failures):
        if f.is_file():
            for ln in f.read_text().splitlines():
                with contextlib.suppress(ValueError, KeyError):
                    done.add(json.loads(ln)["config_source"]["job_id"])
    n = 0
    all_trees = [t.resolve() for t in a.trees + a.later_trees]
    plan = (named_jobs([t.resolve() for t in a.trees], [t.resolve() for t in a.later_trees])
            if a.plan == "named" else jobs(all_trees, a.seed, a.kernel_configs, a.max_random))
    for spec in plan:
        if spec.id in done:
            continue
        if a.only_arch and spec.av.key not in a.only_arch:
            continue
        if (a.stop_at and time.time() > a.stop_at) or (a.stop_file and a.stop_file.exists()):
            print("stop requested", flush=True)
            break
        tree = next(t for t in all_trees if t.name == spec.version_dir)
        vtag = tree.name.replace('linux-', '')
        bdir = a.build_root / f"{vtag}-{spec.av.key}"
        seeded = seed_host_tools(bdir, a.build_root, vtag)
        if seeded:
            print(f"seeded {bdir.name}/scripts from {seeded}", flush=True)
        job = kt.Job(tree=tree, arch=spec.av.arch, cross=spec.av.cross, builddir=bdir,
                     base=spec.base, overrides=spec.overrides, label=spec.label,
                     extra={"job_id": spec.id, **spec.extra},
                     base_cache=a.build_root / "basecfg" / f"{tree.name}-{spec.av.key}")
        try:
            rec = kt.process(job)
        except Exception as e:  # noqa: BLE001 - keep the campaign going
            rec = {"version": kt.tree_version(tree), "arch": spec.av.arch, "cross": spec.av.cross,
                   "config_source": {"base": spec.base, "overrides": spec.overrides,
                                     "label": spec.label, "job_id": spec.id, **spec.extra},
                   "ok": False, "failed_step": "exception", "error": repr(e)[:400]}
        rec["arch_variant"] = spec.av.key
        dest = a.out if rec.get("ok") else a.failures
        with open(dest, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, sort_keys=True, separators=(",", ":")) + "\n")
        n += 1
        status = "ok" if rec.get("ok") else f"FAIL {rec.get('failed_step')}: {rec.get('error')}"
        print(f"{time.strftime('%H:%M:%S')} #{n} {spec.id} {rec.get('seconds')}s {status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
