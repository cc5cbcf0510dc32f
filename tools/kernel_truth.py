#!/usr/bin/env python3
"""kernel_truth.py - ask a real kernel tree + compiler how page->flags is packed.

For one (tree, ARCH, CROSS_COMPILE, config) it:
  1. creates/refreshes a .config in a separate O= build dir (a make target such
     as defconfig/allnoconfig/tinyconfig, or a config file, optionally .xz),
     applies scripts/config-style overrides, runs `make olddefconfig`;
  2. runs `make prepare0` (falls back to `prepare`) which generates
     include/generated/{autoconf.h,bounds.h}, the arch generated headers and
     asm-offsets; this is incremental, so O= dirs are reused across configs;
  3. compiles a generated probe C file with exactly the command line Kbuild
     used for kernel/bounds.s in that O= dir (read from kernel/.bounds.s.cmd),
     producing assembly only; values come out through asm markers
     (asm-offsets technique), so nothing runs on the target arch;
  4. writes one JSON record (or a failure record) per config.

Symbols that do not exist in a given tree/config are dropped automatically:
the probe is compiled, every marker line that the compiler complains about is
removed, and the probe is compiled again (a few rounds at most).
"""
from __future__ import annotations

import argparse
import json
import lzma
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------
# What to ask the compiler.
# Each entry: (marker name, C expression, guard macro or None).
# A guard means "#ifdef GUARD"; entries with no guard are kept if they compile.
# --------------------------------------------------------------------------
MACRO_VALUES: list[str] = [
    "NR_PAGEFLAGS", "MAX_NR_ZONES", "NR_CPUS_BITS", "SPINLOCK_SIZE",
    "__LRU_REFS_WIDTH",
    "ZONES_SHIFT", "NODES_SHIFT", "SECTIONS_SHIFT",
    "MAX_PHYSMEM_BITS", "SECTION_SIZE_BITS",
    "SECTIONS_WIDTH", "NODES_WIDTH", "ZONES_WIDTH",
    "LAST__PID_SHIFT", "LAST__CPU_SHIFT", "LAST_CPUPID_SHIFT", "LAST_CPUPID_WIDTH",
    "KASAN_TAG_WIDTH", "LRU_GEN_WIDTH", "LRU_REFS_WIDTH",
    "NR_NON_PAGEFLAG_BITS", "NR_UNUSED_PAGEFLAG_BITS",
    "SECTIONS_PGOFF", "NODES_PGOFF", "ZONES_PGOFF", "LAST_CPUPID_PGOFF",
    "KASAN_TAG_PGOFF", "LRU_GEN_PGOFF", "LRU_REFS_PGOFF",
    "SECTIONS_PGSHIFT", "NODES_PGSHIFT", "ZONES_PGSHIFT", "LAST_CPUPID_PGSHIFT",
    "KASAN_TAG_PGSHIFT",
    "ZONEID_SHIFT", "ZONEID_PGOFF", "ZONEID_PGSHIFT",
    "NR_CPUS", "CONFIG_NR_CPUS", "BITS_PER_LONG", "PAGE_SHIFT", "MAX_NR_GENS",
    "MAX_NR_TIERS", "MAX_PAGE_ORDER", "MAX_ORDER", "NR_PAGE_ORDERS",
    "MAX_NUMNODES", "PFN_SECTION_SHIFT", "PA_SECTION_SHIFT",
]
# unsigned masks: printed as signed by gcc, normalised to unsigned hex later
MACRO_MASKS: list[str] = [
    "PAGE_FLAGS_CHECK_AT_FREE", "PAGE_FLAGS_CHECK_AT_PREP", "PAGEFLAGS_MASK",
    "__PG_HWPOISON", "__PG_MLOCKED", "PAGE_FLAGS_PRIVATE",
    "ZONES_MASK", "NODES_MASK", "SECTIONS_MASK", "LAST_CPUPID_MASK",
    "KASAN_TAG_MASK", "ZONEID_MASK", "LRU_GEN_MASK", "LRU_REFS_MASK",
    "LAST__PID_MASK", "LAST__CPU_MASK", "PAGE_SIZE",
]
# "is this macro defined" flags
DEFINED_FLAGS: list[str] = [
    "LAST_CPUPID_NOT_IN_PAGE_FLAGS", "NODE_NOT_IN_PAGE_FLAGS",
    "CONFIG_NUMA_BALANCING", "CONFIG_SPARSEMEM_VMEMMAP", "CONFIG_64BIT",
    "WANT_PAGE_VIRTUAL", "CONFIG_ARCH_HAS_PTE_SPECIAL",
]
PAGE_MEMBERS: list[str] = [
    "flags", "lru", "mapping", "index", "__folio_index", "private", "_mapcount",
    "page_type", "_refcount", "memcg_data", "compound_head", "pp_magic", "pp",
    "dma_addr", "pp_ref_count", "pgmap", "zone_device_data", "virtual",
    "_last_cpupid", "kmsan_shadow", "kmsan_origin", "share", "mlock_count",
    "buddy_list", "pcp_list",
]
FOLIO_MEMBERS: list[str] = [
    "flags", "lru", "mapping", "index", "private", "swap", "_mapcount",
    "_refcount", "memcg_data", "_last_cpupid", "mlock_count",
    "_flags_1", "_head_1", "_folio_dtor", "_folio_order", "_large_mapcount",
    "_entire_mapcount", "_nr_pages_mapped", "_pincount", "_folio_nr_pages",
    "_nr_pages", "_mm_id_mapcount", "_mm_id", "_mm_ids",
    "_flags_2", "_head_2", "_hugetlb_subpool", "_hugetlb_cgroup",
    "_hugetlb_cgroup_rsvd", "_hugetlb_hwpoison", "_deferred_list",
    "_flags_2a", "_head_2a", "_flags_3", "_head_3", "virtual",
]

PROBE_HEADERS = [
    "linux/kconfig.h", "linux/types.h", "linux/compiler.h", "linux/stddef.h",
    "linux/mm_types.h", "linux/mmzone.h", "linux/page-flags.h", "linux/mm.h",
]

# CONFIG symbols always kept in the record (besides those found in headers)
BASE_CONFIG_KEYS: list[str] = ["64BIT", "NUMA", "NODES_SHIFT", "NR_CPUS", "SPARSEMEM", "SPARSEMEM_VMEMMAP", "SPARSEMEM_EXTREME", "SPARSEMEM_MANUAL", "FLATMEM", "FLATMEM_MANUAL", "SPARSEMEM_STATIC", "KASAN", "KASAN_SW_TAGS", "KASAN_HW_TAGS", "KASAN_GENERIC", "LRU_GEN", "LRU_GEN_ENABLED", "LRU_GEN_STATS", "MEMCG", "NUMA_BALANCING", "ZONE_DMA", "ZONE_DMA32", "HIGHMEM", "HIGHMEM4G", "HIGHMEM64G", "ZONE_DEVICE", "MEMORY_FAILURE", "TRANSPARENT_HUGEPAGE", "PAGE_IDLE_FLAG", "IDLE_PAGE_TRACKING", "PAGE_EXTENSION", "MMU", "KSM", "USERFAULTFD", "ARCH_USES_PG_ARCH_2", "ARCH_USES_PG_ARCH_3", "ARCH_USES_PG_ARCH_X", "ARCH_USES_PG_UNCACHED", "X86_PAE", "X86_64", "X86_32", "X86_5LEVEL", "ARM64_4K_PAGES", "ARM64_16K_PAGES", "ARM64_64K_PAGES", "ARM64_VA_BITS", "ARM64_PA_BITS", "ARM64_MTE", "PPC_4K_PAGES", "PPC_16K_PAGES", "PPC_64K_PAGES", "PPC_256K_PAGES", "PAGE_SIZE_4KB", "PAGE_SIZE_8KB", "PAGE_SIZE_16KB", "PAGE_SIZE_32KB", "PAGE_SIZE_64KB", "PAGE_SIZE_256KB", "PAGE_SHIFT", "PPC64", "PPC32", "PPC_BOOK3S_64", "PPC_BOOK3E_64", "PPC_RADIX_MMU", "CPU_BIG_ENDIAN", "CPU_LITTLE_ENDIAN", "XEN_PV", "MEM_PROFILING", "MEM_PROFILING_ENABLED_BY_DEFAULT", "MEM_PROFILING_DEBUG", "DEBUG_VM", "PAGE_POOL", "HUGETLB_PAGE", "HUGETLBFS", "MIGRATION", "SWAP", "ARCH_FORCE_MAX_ORDER", "FORCE_MAX_ZONEORDER", "NR_CPUS_DEFAULT", "SMP", "MAXSMP", "ARCH_HAS_PTE_SPECIAL", "KFENCE", "KMSAN", "ANON_VMA_NAME", "PER_VMA_LOCK", "SLUB", "SLAB", "ARM_LPAE", "ARM64", "ARM", "X86", "S390", "RISCV", "PPC", "LOONGARCH", "ARCH_RV32I", "ARCH_RV64I", "PGTABLE_LEVELS", "VMAP_STACK", "MEMORY_HOTPLUG", "MEMORY_HOTREMOVE", "DEVICE_PRIVATE", "ZONE_DEVICE", "HAVE_ARCH_PFN_VALID", "SPARSEMEM_VMEMMAP_ENABLE", "ARCH_SPARSEMEM_ENABLE", "ARCH_FLATMEM_ENABLE", "ARCH_SELECT_MEMORY_MODEL", "HAVE_MEMBLOCK_PHYS_MAP", "NEED_MULTIPLE_NODES", "DISCONTIGMEM", "HUGETLB_PAGE_OPTIMIZE_VMEMMAP", "HUGETLB_PAGE_FREE_VMEMMAP", "PAGE_OWNER", "PAGE_TABLE_CHECK", "SLUB_DEBUG", "ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP", "READ_ONLY_THP_FOR_FS", "CGROUPS", "ZSMALLOC", "ZSWAP", "SHMEM", "HIGHPTE", "PHYS_ADDR_T_64BIT", "ARCH_DMA_ADDR_T_64BIT", "GENERIC_ATOMIC64", "PREEMPT_RT", "DEBUG_SPINLOCK", "DEBUG_LOCK_ALLOC", "LOCKDEP", "X86_VSMP", "XEN", "S390_4LEVEL", "PPC_BOOK3S_32", "PPC_85xx", "PPC_47x", "44x", "40x", "PPC_8xx"]

CONFIG_RE = re.compile(r"\bCONFIG_([A-Za-z0-9_]+)")
NOT_CONSTANT = -2147480001
# known to be run-time values on some configs (x86_64 5-level paging)
PREWRAPPED = {"MAX_PHYSMEM_BITS", "SECTIONS_SHIFT", "PA_SECTION_SHIFT", "PFN_SECTION_SHIFT"}
MARK_RE = re.compile(r"->(\S+) [$#]*(-?\d+)")


@dataclass
class Job:
    tree: Path
    arch: str
    cross: str
    builddir: Path
    base: str                      # make target or path to a config file
    overrides: list[str] = field(default_factory=list)   # KEY=VAL (scripts/config-ish)
    label: str = ""
    extra: dict[str, object] = field(default_factory=dict)  # recorded as is
    jobs: int = 2
    nice: int = 15
    base_cache: Path | None = None
    verbose: bool = False


class StepError(Exception):
    def __init__(self, step: str, message: str, log: str = "") -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message
        self.log = log


def tree_version(tree: Path) -> str:
    vals: dict[str, str] = {}
    with open(tree / "Makefile", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = re.match(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(.*?)\s*$", line)
            if m:
                vals[m.group(1)] = m.group(2)
            if len(vals) == 4:
                break
    return f"{vals.get('VERSION')}.{vals.get('PATCHLEVEL')}.{vals.get('SUBLEVEL')}{vals.get('EXTRAVERSION', '')}"


def srcarch(arch: str) -> str:
    if arch in ("i386", "x86_64", "x86"):
        return "x86"
    if arch in ("sparc32", "sparc64"):
        return "sparc"
    if arch in ("sh64",):
        return "sh"
    return arch


def first_error(text: str) -> str:
    lines = text.splitlines()
    for pat in (r"#error|error:", r"\*\*\*", r"[Ee]rror"):
        for ln in lines:
            if re.search(pat, ln):
                return ln.strip()[:400]
    return (lines[-1].strip()[:400] if lines else "")


def run(cmd: list[str], cwd: Path | None, step: str, job: Job, timeout: int = 3600) -> str:
    full = ["nice", "-n", str(job.nice)] + cmd
    if job.verbose:
        print("+", " ".join(shlex.quote(c) for c in full), file=sys.stderr)
    p = subprocess.run(full, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace", timeout=timeout)
    if p.returncode != 0:
        raise StepError(step, first_error(p.stdout), p.stdout[-8000:])
    return p.stdout


def make(job: Job, *targets: str, step: str) -> str:
    cmd = ["make", "-s", f"-j{job.jobs}", "-C", str(job.tree), f"O={job.builddir}",
           f"ARCH={job.arch}"]
    if job.cross:
        cmd.append(f"CROSS_COMPILE={job.cross}")
    cmd += list(targets)
    return run(cmd, None, step, job)


def parse_override(item: str) -> tuple[str, str]:
    key, _, val = item.partition("=")
    key = key.strip()
    if key.startswith("CONFIG_"):
        key = key[len("CONFIG_"):]
    return key, val.strip()


def apply_overrides(config: Path, overrides: Iterable[str]) -> None:
    """scripts/config semantics: KEY=y|m|n|<number>|"string"; we edit the file
    ourselves so the tool does not depend on the tree's script."""
    text = config.read_text(encoding="utf-8", errors="replace").splitlines()
    for item in overrides:
        key, val = parse_override(item)
        pat = re.compile(rf"^(# )?CONFIG_{re.escape(key)}(=| is not set)")
        text = [ln for ln in text if not pat.match(ln)]
        if val in ("n", ""):
            text.append(f"# CONFIG_{key} is not set")
        else:
            text.append(f"CONFIG_{key}={val}")
    config.write_text("\n".join(text) + "\n", encoding="utf-8")


def read_config(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for ln in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$", ln)
        if m:
            v = m.group(2)
            if v.startswith('"') and v.endswith('"'):
                v = v[1:-1]
            out[m.group(1)] = v
    return out


_KEYS_CACHE: dict[tuple[str, str], list[str]] = {}


def relevant_config_keys(tree: Path, arch: str) -> list[str]:
    ck = (str(tree), arch)
    if ck in _KEYS_CACHE:
        return _KEYS_CACHE[ck]
    keys = set(BASE_CONFIG_KEYS)
    inc = tree / "include" / "linux"
    files = list(inc.glob("page-flags*.h")) + [inc / n for n in (
        "mmzone.h", "mm.h", "mm_types.h", "mm_types_task.h", "page_ref.h",
        "nodemask.h", "nodemask_types.h", "numa.h", "threads.h", "kasan.h",
        "mmdebug.h", "memremap.h", "page_ext.h", "page_idle.h", "huge_mm.h")]
    files.append(tree / "kernel" / "bounds.c")
    ainc = tree / "arch" / srcarch(arch) / "include" / "asm"
    for pat in ("sparsemem*.h", "page*.h", "mmzone*.h", "memory.h", "cache.h",
                "kasan.h", "mte*.h", "pgtable*.h", "mmu.h", "numa.h", "threads.h"):
        files += list(ainc.glob(pat))
    for f in files:
        if f.is_file():
            keys.update(CONFIG_RE.findall(f.read_text(encoding="utf-8", errors="replace")))
    res = sorted(k for k in keys if not k.endswith("_MODULE"))
    _KEYS_CACHE[ck] = res
    return res


def enum_members(path: Path, enum_name: str, prefix: str) -> list[str]:
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    m = re.search(rf"\benum\s+{re.escape(enum_name)}\s*\{{(.*?)\n\}};", text, re.S)
    if not m:
        return []
    body = re.sub(r"/\*.*?\*/", " ", m.group(1), flags=re.S)
    body = re.sub(r"//[^\n]*", " ", body)
    names: list[str] = []
    for nm in re.findall(rf"^\s*({prefix}\w*)\s*(?:=[^,\n]*)?,?", body, re.M):
        if nm not in names:
            names.append(nm)
    return names


@dataclass
class Marker:
    name: str
    kind: str        # "int", "mask", "defined", "page_off", "folio_off", "size", "enum"
    lines: list[str]
    wrapped: bool = False

    def render(self) -> list[str]:
        """A wrapped marker emits NOT_CONSTANT when its expression is not a
        compile-time constant (e.g. MAX_PHYSMEM_BITS on x86_64 with run-time
        5-level paging) instead of failing with an impossible asm constraint.
        Markers start unwrapped (statement-expression macros such as min() are
        fine for "i" but defeat __builtin_constant_p) and are wrapped only after
        the compiler rejected them as non-constant."""
        if not self.wrapped:
            return self.lines
        out = []
        for ln in self.lines:
            m = re.match(r'^(.*"i" \(\(long\)\()(.*)(\)\)\);)$', ln)
            if m:
                e = m.group(2)
                ln = f"{m.group(1)}__builtin_constant_p({e}) ? ({e}) : {NOT_CONSTANT}{m.group(3)}"
            out.append(ln)
        return out


def build_markers(tree: Path) -> list[Marker]:
    ms: list[Marker] = []

    def emit(sym: str, expr: str) -> str:
        return f'\tasm volatile("\\n.ascii \\"->{sym} %0 \\"" : : "i" ((long)({expr})));'

    for n in MACRO_VALUES:
        ms.append(Marker(n, "int", [f"#ifdef {n}", emit(n, n), "#endif"], wrapped=n in PREWRAPPED))
    for n in MACRO_MASKS:
        ms.append(Marker(n, "mask", [f"#ifdef {n}", emit(n, n), "#endif"]))
    for n in DEFINED_FLAGS:
        ms.append(Marker("defined:" + n, "defined",
                         [f"#ifdef {n}", emit("defined:" + n, "1"), "#else",
                          emit("defined:" + n, "0"), "#endif"]))
    ms.append(Marker("sizeof:page", "size", [emit("sizeof:page", "sizeof(struct page)")]))
    ms.append(Marker("sizeof:folio", "size", [emit("sizeof:folio", "sizeof(struct folio)")]))
    ms.append(Marker("sizeof:page.flags", "size",
                     [emit("sizeof:page.flags", "sizeof(((struct page *)0)->flags)")]))
    ms.append(Marker("sizeof:long", "size", [emit("sizeof:long", "sizeof(long)")]))
    ms.append(Marker("sizeof:phys_addr_t", "size", [emit("sizeof:phys_addr_t", "sizeof(phys_addr_t)")]))
    for mem in PAGE_MEMBERS:
        ms.append(Marker(f"offsetof:page.{mem}", "page_off",
                         [emit(f"offsetof:page.{mem}", f"offsetof(struct page, {mem})")]))
    for mem in FOLIO_MEMBERS:
        ms.append(Marker(f"offsetof:folio.{mem}", "folio_off",
                         [emit(f"offsetof:folio.{mem}", f"offsetof(struct folio, {mem})")]))
    pf = tree / "include" / "linux" / "page-flags.h"
    for n in enum_members(pf, "pageflags", "PG_") + ["__NR_PAGEFLAGS"]:
        ms.append(Marker("pageflags:" + n, "enum", [emit("pageflags:" + n, n)]))
    for n in enum_members(pf, "pagetype", "PGTY_"):
        ms.append(Marker("pagetype:" + n, "enum", [emit("pagetype:" + n, n)]))
    mz = tree / "include" / "linux" / "mmzone.h"
    for n in enum_members(mz, "zone_type", "ZONE_") + ["__MAX_NR_ZONES"]:
        ms.append(Marker("zone_type:" + n, "enum", [emit("zone_type:" + n, n)]))
    return ms


def render_probe(markers: list[Marker]) -> tuple[str, dict[int, int]]:
    out = ["/* generated by kernel_truth.py */"]
    out += [f"#include <{h}>" for h in PROBE_HEADERS]
    out += ["", "void mmbits_probe(void);", "void mmbits_probe(void)", "{"]
    line_map: dict[int, int] = {}
    for idx, m in enumerate(markers):
        for ln in m.render():
            out.append(ln)
            line_map[len(out)] = idx
    out.append("}")
    return "\n".join(out) + "\n", line_map


def bounds_cmd(builddir: Path) -> str:
    cmdf = builddir / "kernel" / ".bounds.s.cmd"
    txt = cmdf.read_text(encoding="utf-8", errors="replace")
    m = re.search(r"^(?:saved)?cmd_kernel/bounds\.s\s*:=\s*(.*)$", txt, re.M)
    if not m:
        raise StepError("probe", "cannot find bounds.s command in " + str(cmdf))
    return m.group(1)


def compile_probe(job: Job, markers: list[Marker]) -> tuple[dict[str, int], list[str], str]:
    base = bounds_cmd(job.builddir)
    # the command ends with "-o kernel/bounds.s <src>/kernel/bounds.c"
    src_m = re.search(r"(\S*kernel/bounds\.c)\s*$", base)
    if not src_m:
        raise StepError("probe", "unexpected bounds.s command: " + base[-200:])
    base = base[: src_m.start()]
    base = re.sub(r"-Wp,-MMD,\S+", "", base)
    base = re.sub(r"-o\s+kernel/bounds\.s", "", base)
    pdir = job.builddir / "mmbits_probe"
    pdir.mkdir(exist_ok=True)
    src = pdir / "probe.c"
    outs = pdir / "probe.s"
    active = list(range(len(markers)))
    dropped: list[str] = []
    for _round in range(8):
        text, lmap = render_probe([markers[i] for i in active])
        src.write_text(text, encoding="utf-8")
        cmd = f"{base} -o {shlex.quote(str(outs))} {shlex.quote(str(src))}"
        if job.verbose:
            print("+", cmd, file=sys.stderr)
        p = subprocess.run(["nice", "-n", str(job.nice), "sh", "-c", cmd], cwd=job.builddir,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           errors="replace")
        if p.returncode == 0:
            vals: dict[str, int] = {}
            for m in MARK_RE.finditer(outs.read_text(encoding="utf-8", errors="replace")):
                vals[m.group(1)] = int(m.group(2))
            return vals, dropped, cmd
        bad: set[int] = set()
        nonconst: set[int] = set()
        for m in re.finditer(r"probe\.c:(\d+):[^\n]*", p.stdout):
            ln = int(m.group(1))
            if ln in lmap:
                if "impossible constraint" in m.group(0):
                    nonconst.add(lmap[ln])
                else:
                    bad.add(lmap[ln])
        if not bad and not nonconst:
            raise StepError("probe", first_error(p.stdout), p.stdout[-8000:])
        sub = [markers[i] for i in active]
        for j in nonconst - bad:
            if sub[j].wrapped:
                bad.add(j)
            else:
                sub[j].wrapped = True
        dropped += [sub[i].name for i in sorted(bad)]
        active = [a for j, a in enumerate(active) if j not in bad]
    raise StepError("probe", "too many compile rounds")


def cc_version(cross: str) -> str:
    try:
        p = subprocess.run([f"{cross}gcc", "--version"], stdout=subprocess.PIPE, text=True)
        return p.stdout.splitlines()[0]
    except (OSError, IndexError):
        return "?"


def prepare_config(job: Job) -> None:
    job.builddir.mkdir(parents=True, exist_ok=True)
    cfg = job.builddir / ".config"
    b = job.base
    if os.path.sep in b or b.endswith((".config", ".xz")) or Path(b).is_file():
        path = Path(b)
        if path.suffix == ".xz":
            with lzma.open(path) as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
        cfg.write_bytes(data)
    else:
        cached = job.base_cache / f"{b}.config" if job.base_cache else None
        if cached is not None and cached.is_file():
            shutil.copyfile(cached, cfg)
        else:
            make(job, b, step="base-config")
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(cfg, cached)
    if job.overrides:
        apply_overrides(cfg, job.overrides)


def do_prepare(job: Job) -> None:
    """`make prepare0` straight after editing .config: Kbuild's own syncconfig
    step then resolves the config exactly like olddefconfig would (new/changed
    symbols take their defaults because stdin is empty), which saves one full
    Kconfig run per config.  If that fails, fall back to an explicit
    olddefconfig followed by prepare0/prepare."""
    try:
        make(job, "prepare0", step="prepare")
        return
    except StepError:
        pass
    make(job, "olddefconfig", step="olddefconfig")
    try:
        make(job, "prepare0", step="prepare")
    except StepError:
        make(job, "prepare", step="prepare")


def process(job: Job) -> dict[str, object]:
    t0 = time.time()
    version = tree_version(job.tree)
    rec: dict[str, object] = {
        "version": version,
        "arch": job.arch,
        "cross": job.cross,
        "cc": cc_version(job.cross),
        "config_source": {"base": job.base if os.path.sep not in job.base else Path(job.base).name,
                          "overrides": job.overrides, "label": job.label, **job.extra},
    }
    try:
        prepare_config(job)
        do_prepare(job)
        final = read_config(job.builddir / ".config")
        keys = relevant_config_keys(job.tree, job.arch)
        rec["config"] = {k: final[k] for k in keys if k in final}
        # which requested overrides survived olddefconfig?
        lost = []
        for item in job.overrides:
            k, v = parse_override(item)
            got = final.get(k, "n")
            if v.strip('"') != got and not (v == "" and got == "n"):
                lost.append(f"{k}={v}->{got}")
        rec["overrides_not_applied"] = lost
        markers = build_markers(job.tree)
        vals, dropped, _cmd = compile_probe(job, markers)
    except StepError as e:
        rec["ok"] = False
        rec["failed_step"] = e.step
        rec["error"] = e.message
        rec["seconds"] = round(time.time() - t0, 1)
        return rec
    bits = vals.get("BITS_PER_LONG", 8 * vals.get("sizeof:long", 8))
    mod = 1 << bits
    values: dict[str, object] = {}
    flags: dict[str, bool] = {}
    pageflags: dict[str, int] = {}
    pagetype: dict[str, int] = {}
    zones: dict[str, int] = {}
    page_off: dict[str, int] = {}
    folio_off: dict[str, int] = {}
    kinds = {m.name: m.kind for m in markers}
    not_constant = sorted(n for n, v in vals.items() if v == NOT_CONSTANT)
    for name, v in vals.items():
        if v == NOT_CONSTANT:
            continue
        kind = kinds.get(name, "int")
        if kind == "mask":
            values[name] = hex(v % mod)
        elif kind == "defined":
            flags[name.split(":", 1)[1]] = bool(v)
        elif name.startswith("pageflags:"):
            pageflags[name.split(":", 1)[1]] = v
        elif name.startswith("pagetype:"):
            pagetype[name.split(":", 1)[1]] = v % 256 if v < 0 else v
        elif name.startswith("zone_type:"):
            zones[name.split(":", 1)[1]] = v
        elif name.startswith("offsetof:page."):
            page_off[name.split(".", 1)[1]] = v
        elif name.startswith("offsetof:folio."):
            folio_off[name.split(".", 1)[1]] = v
        else:
            values[name] = v
    bounds_h = job.builddir / "include" / "generated" / "bounds.h"
    bounds: dict[str, int] = {}
    if bounds_h.is_file():
        for m in re.finditer(r"^#define (\w+) (-?\d+)", bounds_h.read_text(), re.M):
            bounds[m.group(1)] = int(m.group(2))
    rec.update({
        "ok": True,
        "values": values,
        "defined": flags,
        "bounds_h": bounds,
        "pageflags": pageflags,
        "pagetype": pagetype,
        "zone_type": zones,
        "page_offsets": page_off,
        "folio_offsets": folio_off,
        "not_available": sorted(n for n in dropped),
        "not_constant": not_constant,
        "seconds": round(time.time() - t0, 1),
    })
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True, type=Path, help="kernel source tree")
    ap.add_argument("--arch", required=True, help="ARCH= value (x86_64, i386, arm64, arm, powerpc, s390, riscv, ...)")
    ap.add_argument("--cross", default="", help="CROSS_COMPILE= prefix, e.g. aarch64-linux-gnu-")
    ap.add_argument("--builddir", required=True, type=Path, help="O= directory (reused, incremental)")
    ap.add_argument("--base", required=True,
                    help="make target (defconfig, allnoconfig, tinyconfig, ppc64le_defconfig, ...) or a config file (.xz ok)")
    ap.add_argument("--set", action="append", default=[], metavar="CONFIG_X=VAL",
                    help="override applied before olddefconfig (y/m/n/number/\"string\"); repeatable")
    ap.add_argument("--label", default="", help="free-form label stored in config_source")
    ap.add_argument("--out", type=Path, help="append the record as a JSON line here (default: stdout)")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--nice", type=int, default=15)
    ap.add_argument("--base-cache", type=Path,
                    help="directory caching the .config a make target produced (saves one Kconfig run)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    job = Job(tree=a.tree.resolve(), arch=a.arch, cross=a.cross, builddir=a.builddir.resolve(),
              base=a.base, overrides=a.set, label=a.label, jobs=a.jobs, nice=a.nice, verbose=a.verbose,
              base_cache=a.base_cache)
    rec = process(job)
    line = json.dumps(rec, sort_keys=True, separators=(",", ":"))
    if a.out:
        with open(a.out, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    else:
        print(line)
    return 0 if rec.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
