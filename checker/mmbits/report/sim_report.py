"""The report of a `mmbits simulate` result: the verdict, the machine and
workload, what was explored, and for each finding the timeline of the failing
schedule (one lane per CPU / worker / IOMMU, the bad step in red, each step
with what it did) and the page's bytes before and after the bad step, as
dump_page prints them and field by field with poison values named.

Reads the JSON-shaped result dict of `mmbits simulate --json` (mmbits schema simulate);
every key past verdict/findings is optional and extra keys are shown, not
rejected. Steps are numbered from 1 as the text output numbers them; a
finding's `data.step` is the 0-based index of the bad step."""

from __future__ import annotations

import json
import re
from typing import Any

from mmbits.report.charts import timeline
from mmbits.report.check_report import where_of, where_text
from mmbits.report.document import Banner, Block, Document, Para, Picture, Pre, Section, Table
from mmbits.report.layout_report import slug

ACTOR_KEYS = ("actor", "cpu", "thread", "who", "lane", "context")
OP_KEYS = ("op", "action", "event", "call", "what", "name", "fn")
NOTE_KEYS = ("notes", "detail", "details")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
# explored keys that change from run to run (a report may be committed and compared)
VOLATILE_KEYS = ("seconds", "states_per_second", "elapsed_seconds")
# how the emulator names the pseudo-thread of the end-of-run checks
END_ACTOR = {"-": "end of run"}


def normalise_step(step: Any, index: int) -> dict[str, Any]:
    """{actor, label, notes, full} of a step given as a dict, an [actor, op] pair or a
    string; `index` is 0-based and `full` names it from 1, as the text output does."""
    n = index + 1
    if isinstance(step, dict):
        actor = next((str(step[k]) for k in ACTOR_KEYS if step.get(k) is not None), "main")
        actor = END_ACTOR.get(actor, f"CPU{actor}" if actor.isdigit() else actor)
        op = next((str(step[k]) for k in OP_KEYS if step.get(k) is not None), None)
        if op is None and isinstance(step.get("step"), str):
            op = step["step"]  # the emulator's {"thread", "step", "notes"}
        notes = _notes(step)
        others = {k: v for k, v in step.items()
                  if k not in ACTOR_KEYS and k not in OP_KEYS and k not in NOTE_KEYS and k not in ("step", "index")}
        args = ", ".join(f"{k}={v}" for k, v in others.items() if not isinstance(v, (dict, list)))
        label = (op or "runs") + (f"({args})" if args and len(args) < 40 else "")
        full = f"step {n}: {actor}: {label}" + "".join(f"\n  {x}" for x in notes)
        return {"actor": actor, "label": label, "notes": notes, "full": full}
    if isinstance(step, (list, tuple)) and len(step) >= 2:
        return {"actor": str(step[0]), "label": " ".join(str(x) for x in step[1:]), "notes": [],
                "full": f"step {n}: " + " ".join(str(x) for x in step)}
    text_form = str(step)
    actor, sep, rest = text_form.partition(":")
    if sep and len(actor) <= 16 and " " not in actor.strip():
        return {"actor": actor.strip(), "label": rest.strip(), "notes": [], "full": f"step {n}: {text_form}"}
    return {"actor": "main", "label": text_form, "notes": [], "full": f"step {n}: {text_form}"}


def _notes(step: dict[str, Any]) -> list[str]:
    for key in NOTE_KEYS:
        v = step.get(key)
        if isinstance(v, list):
            return [str(x) for x in v]
        if isinstance(v, str) and v:
            return [v]
    return []


def bad_step_of(finding: dict[str, Any], n: int) -> int | None:
    """The 0-based index of the failing step: where.step (numbered from 1, as printed),
    else data.bad_step/failing_step/step (0-based), else the last step. Never parsed
    out of message text."""
    w = where_of(finding)
    if w is not None and w.step is not None and 1 <= w.step <= n:
        return w.step - 1
    data = finding.get("data") if isinstance(finding.get("data"), dict) else {}
    for key in ("bad_step", "failing_step", "step"):
        v = data.get(key) if data else None
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < n:
            return v
    return n - 1 if n else None


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _steps(n: int) -> str:
    return _plural(n, "step")


def schedule_blocks(finding: dict[str, Any], name: str) -> list[Block]:
    """The timeline picture and the step table of a finding's schedule (none without one)."""
    data = finding.get("data") if isinstance(finding.get("data"), dict) else {}
    schedule = data.get("schedule") if data else None
    if not isinstance(schedule, list) or not schedule:
        return []
    steps = [normalise_step(s, k) for k, s in enumerate(schedule)]
    bad = bad_step_of(finding, len(steps))
    thin = all(isinstance(raw, dict) and s["label"] == "runs" and not s["notes"]
               for raw, s in zip(schedule, steps, strict=True))
    if thin:
        # only who ran (the lifecycle check keeps no step details): one line says it all
        order = " → ".join(f"**{k + 1} {s['actor']}**" if k == bad else f"{k + 1} {s['actor']}"
                           for k, s in enumerate(steps))
        return [Para(f"Schedule ({_steps(len(steps))}, step {bad + 1 if bad is not None else '?'} fails): {order}. "
                     "`mmbits simulate --proposal FILE --cpus 1 --explore sequential` on that config prints "
                     "every step with what it did.")]
    title = f"Failing schedule ({_steps(len(steps))}" + (f", step {bad + 1} fails)" if bad is not None else ")")
    with_notes = any(s["notes"] for s in steps)
    rows = [[str(k + 1), s["actor"], f"`{s['label']}`" + (" ← **fails here**" if k == bad else "")]
            + (["; ".join(s["notes"])] if with_notes else []) for k, s in enumerate(steps)]
    return [
        Picture(timeline(steps, title, bad), name,
                "One lane per CPU / worker / IOMMU, in the order the steps ran; the red step is where it goes "
                "wrong. The table below is the same schedule with what each step did."),
        Table(["step", "actor", "operation"] + (["what it did"] if with_notes else []), rows,
              ["bad" if k == bad else "" for k in range(len(steps))]),
    ]


def state_blocks(before: Any, after: Any, all_fields: bool = False) -> list[Block]:
    """The page before and after the bad step: the dump_page lines of each, then a
    field table with the changed fields marked and poison values named."""
    if before is None and after is None:
        return []
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [Pre(json.dumps({"before": before, "after": after}, indent=2, sort_keys=True, default=str),
                    collapsed="the page before and after the step")]
    blocks: list[Block] = []
    pfn = before.get("pfn") or after.get("pfn")
    where = f"pfn {pfn}" if pfn is not None else "the page"
    dumps = [[str(x) for key in ("dump", "raw") if isinstance(state.get(key), list) for x in state[key]]
             for state in (before, after)]
    if dumps[0] and dumps[0] == dumps[1]:
        blocks.append(Para(f"{where} before and after the step (the step did not change it), as dump_page() "
                           "prints it:"))
        blocks.append(Pre("\n".join(dumps[0])))
    else:
        for label, lines in zip(("before", "after"), dumps, strict=True):
            if lines:
                blocks.append(Para(f"{where} **{label}** the step, as dump_page() prints it:"))
                blocks.append(Pre("\n".join(lines)))
    # the emulator's shape: {"pfn", "dump", "raw", STRUCT: {field: value}}; any other
    # dict is one page state, nested dicts being fields (lru.prev)
    emulator = any(key in state for key in ("dump", "raw") for state in (before, after))
    structs = [k for k in dict.fromkeys([*before, *after])
               if emulator and isinstance(before.get(k, after.get(k)), dict)]
    for struct in structs:
        b, a = before.get(struct), after.get(struct)
        blocks.append(Para(f"`struct {struct}` of {where}, field by field ("
                           + ("changed fields in red, poison values named" if all_fields else
                              "only the fields the step changed, in red, and those holding a named poison value")
                           + "):"))
        blocks.extend(_field_table(_flatten(b) if isinstance(b, dict) else {},
                                   _flatten(a) if isinstance(a, dict) else {}, all_fields))
    rest_b = {k: v for k, v in before.items() if k not in structs and k not in ("dump", "raw", "pfn")}
    rest_a = {k: v for k, v in after.items() if k not in structs and k not in ("dump", "raw", "pfn")}
    if rest_b or rest_a:
        if not structs:
            blocks.append(Para(f"{where} before and after the bad step (changed fields marked):"))
        blocks.extend(_field_table(_flatten(rest_b), _flatten(rest_a), all_fields))
    return blocks


def _field_table(flat_b: dict[str, Any], flat_a: dict[str, Any], all_fields: bool = False) -> list[Block]:
    """Before/after per field: the fields that changed and those holding a poison value
    (they explain the finding); every field with `all_fields`."""
    rows, css = [], []
    hidden = 0
    for k in dict.fromkeys([*flat_b, *flat_a]):
        b, a = flat_b.get(k), flat_a.get(k)
        if b == a and not all_fields and not _value_name(a):
            hidden += 1
            continue
        rows.append([k, _show(b), _show(a)])
        css.append("bad" if b != a else "warn" if _value_name(a) else "")
    out: list[Block] = [Table(["field", "before", "after"], rows, css)] if rows else []
    if hidden:
        out.append(Para(f"{_plural(hidden, 'other field')} unchanged" + ("." if rows else " (the step changed no field).")))
    return out


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _show(v: Any) -> str:
    """A value as the report prints it: numbers in hex with a poison name where one applies."""
    if v is None:
        return "-"
    name = _value_name(v)
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 9:
        return f"{v:#x}" + (f" ({name})" if name else "")
    if isinstance(v, str) and _HEX.fullmatch(v):
        return v + (f" ({name})" if name else "")
    if isinstance(v, (list, tuple)):
        return " ".join(_show(x) for x in v)
    return str(v)


def _value_name(v: Any) -> str | None:
    """The poison or fill pattern a value (an int, or hex text as the emulator gives it) is."""
    if isinstance(v, str) and _HEX.fullmatch(v):
        v = int(v, 16)
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 9:
        return _poison(v)
    return None


def _poison(v: int) -> str | None:
    """LIST_POISON2, TAIL_MAPPING ... for a value, on the reference kernel's poison delta."""
    from mmbits.decode.data import load_dump_data
    from mmbits.decode.decoder import poison_name
    from mmbits.kconfig.presets import preset

    hit = poison_name(v & ((1 << 64) - 1), 8, preset("x86_64-6.18"), load_dump_data())
    return hit[0] if hit else None


def _count(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    return _show(v)


def _setup_table(result: dict[str, Any]) -> Table | None:
    """The machine, the markings and the workload the run used."""
    rows: list[list[str]] = []
    machine = result.get("machine") if isinstance(result.get("machine"), dict) else {}
    if machine:
        struct = machine.get("struct_page")
        size = machine.get("sizeof_page")
        if struct or size:
            rows.append(["struct page", f"`struct {struct or 'page'}`" + (f", {size} bytes" if size else "")])
        for key, label in (("arch", "arch"), ("pages", "pages of memory")):
            if machine.get(key) is not None:
                rows.append([label, _count(machine[key])])
        if isinstance(machine.get("levels"), list):
            rows.append(["page-table levels", "/".join(str(x) for x in machine["levels"])])
        if "iommu_sva" in machine:
            rows.append(["IOMMU SVA", "on: the IOMMU walks and caches kernel page tables"
                         if machine["iommu_sva"] else "off"])
        if "async_kernel_pgtable_free" in machine:
            rows.append(["ASYNC_KERNEL_PGTABLE_FREE", "y" if machine["async_kernel_pgtable_free"] else "n"])
        for mk in machine.get("markings") or []:
            if isinstance(mk, dict):
                steps = ", ".join(f"{k.removesuffix('_at')} at {mk[k]}" for k in ("set_at", "test_at", "clear_at")
                                  if mk.get(k))
                named = f"`{mk.get('name')}`" + (f" = `{mk.get('expr')}`" if mk.get("expr") != mk.get("name") else "")
                rows.append(["marking", f"{named} in `{mk.get('word')}` ({mk.get('bits')})"
                             + (f": {steps}" if steps else "")])
    workload = result.get("workload") if isinstance(result.get("workload"), dict) else {}
    plan = workload.get("plan") if workload else None
    if isinstance(plan, dict):
        for thread, ops in plan.items():
            rows.append([f"workload {thread}", ", ".join(str(o) for o in ops) if isinstance(ops, list) else str(ops)])
    return Table(["", "setup"], rows) if rows else None


KNOWN_KEYS = ("verdict", "variant", "config", "explored", "findings", "machine", "workload", "title", "proposal")


def build_simulation_report(result: dict[str, Any], all_fields: bool = False) -> Document:
    if not isinstance(result, dict):
        raise TypeError("a simulation result is a dict")
    verdict = str(result.get("verdict", "unknown")).lower()
    variant = str(result.get("variant") or "proposal")
    title = result.get("title") if isinstance(result.get("title"), str) else ""
    config = result.get("config")
    cfg_label = config.get("name") if isinstance(config, dict) else config
    findings = [f for f in result.get("findings") or [] if isinstance(f, dict)]
    raw_explored = result.get("explored")
    explored: dict[str, Any] = raw_explored if isinstance(raw_explored, dict) else {}
    errors = [f for f in findings if str(f.get("severity", "error")) == "error"]
    summary = Section("verdict", "Verdict")
    detail = f"variant `{variant}`" + (f" ({title})" if title else "") + \
             f" on {cfg_label or 'the default config'}: {_plural(len(findings), 'finding')}"
    if explored.get("schedules") is not None:
        n = explored["schedules"]
        detail += f" in {_plural(n, 'schedule') if isinstance(n, int) else n} explored"
    summary.blocks.append(Banner(verdict.upper(),
                                 verdict == "safe", detail))
    setup = _setup_table(result)
    if setup is not None:
        summary.blocks.append(setup)
    if explored:
        rows = [[k, _count(v)] for k, v in explored.items() if not isinstance(v, dict)]
        # nested figures (the partial-order reduction's) as rows of their own: "reduction: slept"
        rows += [[f"{k}: {sub}", _count(x)] for k, v in explored.items() if isinstance(v, dict) for sub, x in v.items()]
        summary.blocks.append(Table(["explored", "count"], rows))
    proposal = result.get("proposal")
    if isinstance(proposal, dict) and proposal:
        summary.blocks.append(Table(["proposal", "value"], [[k, _show(v)] for k, v in proposal.items()]))
    extras = {k: v for k, v in result.items() if k not in KNOWN_KEYS and isinstance(v, (str, int, float))}
    if extras:
        summary.blocks.append(Table(["key", "value"], [[k, str(v)] for k, v in sorted(extras.items())]))
    if findings:
        summary.blocks.append(Table(
            ["#", "kind", "message", "where"],
            [[str(i), str(f.get("kind")), str(f.get("message") or ""), where_text(f)]
             for i, f in enumerate(findings, start=1)],
            ["bad" if str(f.get("severity", "error")) == "error" else "warn" for f in findings]))
    elif verdict == "safe":
        summary.blocks.append(Para("No finding in any schedule explored: no leak, double free, use after free, "
                                   "IOMMU walk of a freed table, list corruption or bad page state."))
    sections = [summary]
    for i, f in enumerate(findings, start=1):
        data = f.get("data") if isinstance(f.get("data"), dict) else {}
        sec = Section(f"finding-{i}", f"Finding {i}: {f.get('kind')}")
        sec.blocks.append(Para(str(f.get("message") or "")))
        facts = []
        if where_text(f):
            facts.append(f"where: `{where_text(f)}`")
        if f.get("config"):
            facts.append(f"config {f.get('config')}")
        follows = data.get("follows") if data else None
        if isinstance(follows, dict):
            facts.append(f"a consequence: it follows {follows.get('kind')} [{follows.get('where')}] on this schedule")
        elif follows is not None:
            facts.append(f"a consequence of {follows}")
        if facts:
            sec.blocks.append(Para("; ".join(facts)))
        sec.blocks.extend(schedule_blocks(f, f"timeline-{i}"))
        states = state_blocks(data.get("before") if data else None, data.get("after") if data else None, all_fields)
        if states:
            sec.blocks.append(Para("**The page before and after the bad step**"))
            sec.blocks.extend(states)
        others = {k: v for k, v in (data or {}).items() if k not in ("schedule", "before", "after", "step", "follows")}
        if others:
            sec.blocks.append(Pre(json.dumps(others, indent=2, sort_keys=True, default=str),
                                  collapsed="other data of this finding"))
        sections.append(sec)
    if errors and explored.get("mode") not in (None, "replay"):
        sections[0].blocks.append(Para("Replay a finding's schedule with `mmbits simulate --json ... > run.json` "
                                       "and `mmbits simulate ... --replay run.json --finding N` (N counts the findings from 0)."))
    raw = Section("raw", "Result (JSON)")
    raw.blocks.append(Pre(json.dumps(result, indent=2, sort_keys=True, default=str),
                          collapsed="the result as `mmbits simulate --json` prints it"))
    sections.append(raw)
    return Document(f"mmbits simulate: {variant}: {verdict.upper()}",
                    f"Deferred page-table free emulator, variant `{variant}`" + (f", {cfg_label}" if cfg_label else ""),
                    sections, f"simulate-{slug('-'.join(str(x) for x in (variant, cfg_label) if x))}")
