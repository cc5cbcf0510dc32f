"""The text form of a simulation result: a header saying what ran, one
checkpatch-like ERROR line per finding with its schedule and the page's
dump_page-style bytes before and after the bad step, then the verdict."""

from __future__ import annotations

from typing import Any

from mmbits.findings import Where
from mmbits.schedule import steps_of


def render(result: Any, verbose: bool = True, full: bool = False) -> str:
    """`result`: a SimulationResult or its JSON form."""
    if hasattr(result, "to_json"):
        result = result.to_json()
    out: list[str] = []
    m = result["machine"]
    ex = result["explored"]
    out.append(f"mmbits simulate: {result['variant']}: {result['title']}")
    out.append(f"config: {result['config']} ({m['arch']}, struct {m['struct_page']} {m['sizeof_page']} bytes, "
               f"{m['pages']} pages, levels {'/'.join(m['levels'])})")
    sva = "on, walks kernel page tables" if m["iommu_sva"] else (
        "bound, but this arch's SVA does not walk kernel tables" if m["iommu_sva_requested"] else "off")
    out.append(f"IOMMU SVA: {sva}; ASYNC_KERNEL_PGTABLE_FREE={'y' if m['async_kernel_pgtable_free'] else 'n'}")
    for mk in m.get("markings") or []:
        out.append(f"marking: {mk['name']} = {mk['expr']} in {mk['word']} ({mk['bits']}): set at {mk['set_at']}, "
                   f"tested at {mk['test_at']}, cleared at {mk['clear_at'] or 'never'}")
    plan = result["workload"]["plan"]
    out.append("workload: " + " | ".join(f"{cpu}: {' '.join(ops)}" for cpu, ops in plan.items()) + " | worker")
    state = "complete" if ex["complete"] else "bounded (not every interleaving was reached)"
    rate = f", {ex['states_per_second']:.0f} states/s" if ex.get("states_per_second") else ""
    seed = f", seed {ex['seed']}" if ex.get("seed") is not None else ""
    ends = f", {ex['end_states']} end states" if ex.get("end_states") is not None else ""
    # an exhaustive run's schedules are the paths through the states it explored
    paths = " (paths through the explored states)" if ex["mode"] == "exhaustive" else ""
    out.append(f"explored: {ex['mode']}{seed}, {state}: {ex['states']} states, {ex['transitions']} transitions, "
               f"{ex['schedules']} schedules{paths}{ends}, {ex['seconds']:.2f} s{rate}")
    out.extend(reduction_lines(ex))
    out.append("")
    later = []
    for f in result["findings"]:
        data = f.get("data") or {}
        if data.get("follows") and not full:
            later.append(f)
            continue
        sev = f.get("severity", "error").upper()
        by = data.get("detected_by") or ""
        label = " (emulator check: the kernel does not report this)" if by.startswith("emulator") else ""
        out.append(f"{sev}:{f['kind']}: {f['message']} [{_where(f['where'])}]{label}")
        if data.get("follows"):
            out.append(f"  (after {data['follows']['kind']} [{_where(data['follows']['where'])}] on this schedule)")
        if verbose:
            out.extend(schedule_lines(data))
            out.extend(_bytes(data))
        out.append("")
    if later:
        out.append(f"{len(later)} more finding(s), each after an error above about the same page or one "
                   f"that corrupts memory (consequences; --all or --json shows them in full):")
        for f in later:
            sev = f.get("severity", "error").upper()
            out.append(f"  {sev}:{f['kind']}: [{_where(f['where'])}] after {f['data']['follows']['kind']}")
        out.append("")
    n = len(result["findings"])
    out.append(f"verdict: {result['verdict']}" + (f" ({n} finding{'s' if n != 1 else ''})" if n else ""))
    if ex.get("cut_short"):
        out.append(f"the exhaustive exploration stopped at its bound ({ex['states']} states, --max-states) before "
                   f"every interleaving was reached: " + ("the findings above are real, others may be missed"
                                                           if n else "no verdict (exit 2)"))
    return "\n".join(out)


def reduction_lines(ex: dict[str, Any]) -> list[str]:
    """What state hashing and the sleep sets saved in an exhaustive run."""
    if ex["mode"] != "exhaustive":
        return []
    red = ex.get("reduction") or {}
    run = ex["transitions"]
    merged = "; states differing only in the deferred-free queue's order are one" if red.get("queue_order") else ""
    line = f"reduction: {ex['pruned']} transitions reached an explored state (state hashing{merged})"
    if red.get("sleep_sets"):
        skipped = red.get("skipped", 0)
        line += (f"; sleep sets{' and persistent sets' if red.get('persistent_sets') else ''}: "
                 f"{red['slept'] + skipped} transitions not run ({red['ratio']:.0%} of {run + red['slept'] + skipped}"
                 + (f"; {skipped} outside a persistent set" if red.get("persistent_sets") else "")
                 + f"), {red['revisits']} states explored again with a smaller sleep set")
    else:
        line += "; partial-order reduction off"
    return [line]


def schedule_lines(data: dict[str, Any]) -> list[str]:
    """A finding's schedule, one step a line, the failing step marked with >."""
    steps = steps_of(data.get("schedule"))
    if not steps:
        return []
    bad = data.get("step")
    out = [f"  schedule ({len(steps)} step{'s' if len(steps) != 1 else ''}):"]
    for i, s in enumerate(steps, start=1):
        mark = ">" if bad is not None and i - 1 == bad else " "
        out.append(f"  {mark}{i:3} {s.thread:7} {s.step or ''}")
        for note in s.notes:
            out.append(f"              {note}")
    return out


def _bytes(data: dict[str, Any]) -> list[str]:
    out = []
    for label in ("before", "after"):
        page = data.get(label)
        if not page:
            continue
        out.append(f"  pfn {page['pfn']} {label} the step:")
        out.extend(f"    {line}" for line in page.get("dump") or [])
        out.extend(f"    {line}" for line in page.get("raw") or [])
    return out


def _where(where: Any) -> str:
    """A finding's `where` (the JSON object, or an older plain string) as text."""
    if where is None:
        return ""
    if isinstance(where, str):
        return where
    return str(Where.of(where))
