"""The emulator's speed: bit-exact field operations on struct pages, and
schedule exploration.

1. Field operations per second on the fast path (the foundation's `Field`
   accessors on a bytearray of struct pages, and the emulator's Memory.get/
   set wrappers that also track dirty pages for state hashing), against the
   same operations done through construct (parse the page, change the word,
   build the page). The same random sequence of writes is applied both ways
   and the resulting bytes must be identical.
2. `--explore exhaustive` on 2 CPUs x 3 frees + the worker (each CPU frees
   three kernel PTE tables with pmd_free_pte_page(), the IOMMU walking every
   VA after every step): states, transitions and schedules per second. The
   default `mmbits simulate` workload (2 CPUs x 3 mixed operations) is
   timed too.

    python bench/bench_emu.py [--preset NAME] [--ops N] [--skip-mixed]
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time

import construct as cs

from mmbits.emu.machine import Machine
from mmbits.emu.simulate import simulate
from mmbits.kconfig.model import load_model
from mmbits.kconfig.presets import preset
from mmbits.layout.codec import build_construct, construct_decode

WORDS = ("flags", "compound_head", "lru.prev", "mapping", "__folio_index", "private", "page_type", "_refcount")


def sva_config(name: str):  # noqa: ANN201 - a Config
    base = preset(name)
    values = dict(base.primary)
    values["IOMMU_SVA"] = 1
    try:
        return load_model().make(values, name=f"{name}+IOMMU_SVA")
    except Exception:  # noqa: BLE001 - an arch without SVA: run as is
        return base


def field_ops(name: str, n_ops: int) -> None:
    config = sva_config(name)
    m = Machine(config, "v6.19+fixes", npages=256)
    layout = m.facts.page
    size = layout.size
    fields = [layout.field(w) for w in WORDS if w in layout.words]
    rng = random.Random(1)
    ops = []
    for _ in range(n_ops):
        f = rng.choice(fields)
        ops.append((rng.randrange(m.mem.npages), f, rng.getrandbits(f.size * 8)))

    # fast path: Field.set/get on the raw bytearray
    buf = bytearray(m.mem.pages)
    start = time.perf_counter()
    for pfn, f, value in ops:
        f.set(buf, value, pfn * size)
        f.get(buf, pfn * size)
    fast = time.perf_counter() - start

    # the emulator's wrappers (dirty tracking for state hashing)
    mem = m.mem
    start = time.perf_counter()
    for pfn, f, value in ops:
        mem.set(pfn, f, value)
        mem.get(pfn, f)
    wrapped = time.perf_counter() - start

    # construct: the same write (build of that word into the page) and read
    # (parse of the page) through the construct compiled from the layout
    con = build_construct(layout)
    words = {f.name: cs.Pointer(f.offset, cs.BytesInteger(f.size, signed=f.signed, swapped=f.little))
             for f in fields}
    cbuf = bytearray(m.mem.pages)
    sample = ops[: max(1, n_ops // 50)]
    start = time.perf_counter()
    for pfn, f, value in sample:
        base = pfn * size
        stream = io.BytesIO(bytes(cbuf[base:base + size]))
        words[f.name].build_stream(_wrap(f, value), stream)
        cbuf[base:base + size] = stream.getvalue()
        con.parse(bytes(cbuf[base:base + size]))[f.name]  # noqa: B018 - the read
    slow = (time.perf_counter() - start) * (len(ops) / len(sample))

    # identical bytes: the sampled writes replayed with the fast path; and
    # every page decodes the same both ways
    check = bytearray(m.mem.pages)
    for pfn, f, value in sample:
        f.set(check, value, pfn * size)
    same = check == cbuf
    for pfn in {pfn for pfn, _f, _v in sample}:
        page = bytes(cbuf[pfn * size:(pfn + 1) * size])
        same = same and construct_decode(layout, page) == layout.decode(page)
    print(f"field ops on {config.label()} (struct page {size} bytes, {n_ops} writes + reads):")
    print(f"  Field.get/set fast path      {2 * n_ops / fast / 1e6:8.2f} M ops/s")
    print(f"  Memory.get/set (emulator)    {2 * n_ops / wrapped / 1e6:8.2f} M ops/s")
    print(f"  construct parse/build        {2 * n_ops / slow / 1e6:8.4f} M ops/s "
          f"({slow / fast:.0f}x slower; measured on {len(sample)} writes)")
    print(f"  identical bytes after the same writes: {'yes' if same else 'NO'}")
    if not same:
        raise SystemExit("bench: the fast path and construct disagree")


def _wrap(f, value: int) -> int:  # noqa: ANN001
    """The value C stores in the word (two's complement for signed words)."""
    bits = f.size * 8
    value &= (1 << bits) - 1
    if f.signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def exploration(name: str, ops: int, mixed: bool) -> None:
    config = sva_config(name)
    cases = [(f"2 CPUs x {ops} frees (huge-pmd) + worker", ("huge-pmd",))]
    if mixed:
        cases.append((f"2 CPUs x {ops} mixed operations (simulate's default) + worker", ()))
    for label, only in cases:
        start = time.perf_counter()
        r = simulate(config, "v6.19+fixes", cpus=2, ops=ops, mode="exhaustive", only=only, detail=False,
                     max_states=2_000_000)
        wall = time.perf_counter() - start
        ex = r["explored"]
        print(f"exhaustive, {label}, {config.label()}:")
        print(f"  {ex['states']} states, {ex['transitions']} transitions, {ex['schedules']} schedules covered, "
              f"complete={ex['complete']}, verdict {r['verdict']}")
        print(f"  {ex['seconds']:.2f} s exploring ({wall:.2f} s in all): {ex['states'] / ex['seconds']:.0f} states/s, "
              f"{ex['transitions'] / ex['seconds']:.0f} transitions/s, "
              f"{ex['schedules'] / ex['seconds']:.3g} schedules/s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="x86_64-6.18")
    ap.add_argument("--ops", type=int, default=3)
    ap.add_argument("--field-ops", type=int, default=200_000)
    ap.add_argument("--skip-mixed", action="store_true", help="only the huge-pmd exploration")
    args = ap.parse_args(argv)
    field_ops(args.preset, args.field_ops)
    field_ops("i386-pae-sparsemem", args.field_ops // 4)
    exploration(args.preset, args.ops, not args.skip_mixed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
