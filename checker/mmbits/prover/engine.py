"""The domain proof: one proposal, every config of a domain, one verdict.

Configs are grouped on the symbols the question can read (where the word
sits, what its role needs, what the expression's names depend on), so the
cost follows the number of distinct answers, not the domain's raw size; and
each analysis is cached on its actual inputs (the FlagsWord object, the
expression's value, the word's site), so 100k configs run a few hundred
analyses. Hits are aggregated per colliding thing with one counterexample.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from itertools import accumulate
from typing import Any, NamedTuple

from mmbits.collector import collector_paused
from mmbits.errors import InputError, InvalidConfigError
from mmbits.findings import Finding
from mmbits.flags.packing import compute
from mmbits.kconfig.config import Config
from mmbits.kconfig.domain import Group
from mmbits.layout.registry import LayoutSet
from mmbits.proposal import Proposal
from mmbits.prover import bittable, classes, releases
from mmbits.prover.analyse import Prover, prepare, relevant_symbols
from mmbits.prover.explain import explain
from mmbits.prover.expr import Value
from mmbits.prover.grouplist import GroupList
from mmbits.prover.hits import Hit
from mmbits.prover.result import CheckResult
from mmbits.prover.site import Site

COLLIDING = {"collision", "tail-marker", "type-byte", "pointer-tag"}


class Aggregate:
    """One finding across the domain: the first config it was seen on, and how many configs.
    (Plain classes for the proof's own records: a dataclass costs start-up ~1 ms to make.)"""

    __slots__ = ("hit", "config", "count", "groups")

    def __init__(self, hit: Hit, config: Config, count: int = 0, groups: int = 0):
        self.hit = hit
        self.config = config
        self.count = count
        self.groups = groups


class _Answer:
    """One distinct answer (hits list, value) over the classes that have it: the first
    class and its site, and the configs, groups and configs per release it covers. The
    first class's config (a counterexample) is built when asked for: most answers name none."""

    __slots__ = ("hits", "ev", "site", "unit", "count", "groups", "by_release")

    def __init__(self, hits: list[Hit], ev: Value, site: Site, unit: classes.Unit):
        self.hits = hits
        self.ev = ev
        self.site = site
        self.unit = unit
        self.count = 0
        self.groups = 0
        self.by_release: dict[int, int] = {}

    @property
    def config(self) -> Config:
        return self.unit.config


class _Static(NamedTuple):
    """What the static proof found, for the lifecycle part and the verdict."""

    prover: Prover
    relevant: set[str]
    checked: int
    unsafe: int
    colliding: int
    groups: int
    findings: list[Finding]
    counts: list[int]
    explanation: list[str]
    unknown: list[str]
    by_release: dict[int, releases.ReleaseTally]


# -- the proof -------------------------------------------------------------------------

def check(proposal: Proposal, *, config: Config | None = None, domain: Any = None, source: str = "",
          defines: Mapping[str, str] | None = None, new_flags: Sequence[str] = (), lifecycle: bool = True,
          lset: LayoutSet | None = None, progress: Callable[[int, int], None] | None = None) -> CheckResult:
    """Prove a proposal over one config or every valid config of a domain."""
    try:
        return _check(proposal, config=config, domain=domain, source=source, defines=defines,
                      new_flags=new_flags, lifecycle=lifecycle, lset=lset, progress=progress)
    except InputError as exc:
        # an unknown struct, word or name in a proposal file's expression: name the file
        if exc.file is None and proposal.source and not isinstance(exc, InvalidConfigError):
            exc.file = proposal.source
        raise


def _check(proposal: Proposal, *, config: Config | None, domain: Any, source: str,
           defines: Mapping[str, str] | None, new_flags: Sequence[str], lifecycle: bool,
           lset: LayoutSet | None, progress: Callable[[int, int], None] | None) -> CheckResult:
    if (config is None) == (domain is None):
        raise ValueError("check() needs exactly one of config= and domain=")
    start = time.perf_counter()
    with _collector_paused(domain is not None):
        static = _static(proposal, config, domain, defines, new_flags, lset, progress)
    prover, relevant, checked, unsafe, colliding, ngroups, findings, counts, explanation, unknown, by_release = static
    lifecycle_state = "not requested"
    if lifecycle and proposal.lifecycle:
        from mmbits.prover.lifecycle import run_lifecycle  # not imported by a --static proof

        outcome = run_lifecycle(prover.proposal, config, domain, relevant)
        lifecycle_state = outcome.state
        unknown += outcome.unknown
        for f, n in outcome.findings:
            findings.append(f)
            counts.append(n)
            if f.severity == "error":
                unsafe = max(unsafe, n)
    # UNSAFE stands on its counterexample; anything short of a full proof is UNKNOWN, never SAFE
    verdict = "unsafe" if any(f.severity == "error" for f in findings) else ("unknown" if unknown else "safe")
    if verdict == "unsafe" and unsafe == 0:
        unsafe = checked
    return CheckResult(prover.proposal, source, verdict, checked, unsafe, colliding, ngroups, findings, counts, explanation,
                       time.perf_counter() - start, tuple(sorted(relevant)), lifecycle_state, unknown,
                       releases=releases.ordered(by_release))


def _static(proposal: Proposal, config: Config | None, domain: Any, defines: Mapping[str, str] | None,
            new_flags: Sequence[str], lset: LayoutSet | None,
            progress: Callable[[int, int], None] | None) -> _Static:
    """The static proof: the groups, their classes, one analysis per class, the findings."""
    prover = prepare(proposal, defines, new_flags, lset, probe=config)
    if config is not None:
        _check_buildable(config)
        groups: Sequence[Group] = [Group(config, 1, "config")]
        relevant: set[str] = set(relevant_symbols(prover, config=config))
        total = 1
    else:
        relevant = relevant_symbols(prover, domain)
        # grouped on VERSION too, so each group is one release and the answer can be
        # given per release (free when the domain has one release, or the word's roles read it)
        groups, prover.config_memo = cached_groups(domain, relevant | {"VERSION"})
        total = domain.size()
    # one analysis per class of groups whose configs the analysis reads alike (prover.classes)
    # (kept on disk for the shipped layouts: a new process skips the pass over the groups)
    units = classes.units(prover, groups, prover.config_memo,
                          (domain, relevant | {"VERSION"}) if domain is not None and lset is None else None)
    aggs: dict[tuple[str, str], Aggregate] = {}
    checked = unsafe = colliding = ngroups = 0
    shift_counts: set[tuple[int, ...]] = set()
    worst_shift: tuple[int, int, Config] | None = None  # (count, width, config)
    explanation: list[str] = []
    undefined_seen = False
    by_release: dict[int, releases.ReleaseTally] = {}
    failed: list[tuple[classes.Unit, Exception]] = []
    # the classes summed per answer (one hits list and one value object per distinct answer),
    # in the order of their first class: the first answer with a finding has its first group
    answers: dict[tuple[int, int], int] = {}  # (hits, value) -> its answer's number in `found`
    # classes with equal answer keys (classes.answer_keys) share one analysis: a new
    # question analyses one class per distinct key (the first class having it), not every class
    keys = classes.answer_keys(prover, units)
    class_counts, sizes, which, release_sets = classes.columns(units)
    # the classes analysed, in order: each class without a key, and the first class of each key
    # (or, when that analysis fails, the next class of the key: fail closed, as each is its own)
    todo = list(range(len(class_counts))) if keys is None else \
        sorted([i for k, i in bittable.firsts(keys) if k is not None] + [i for i, k in enumerate(keys) if k is None])
    answer_of: dict[Any, int] = {}  # answer key -> its answer's number (the analysis of its first class)
    own: dict[int, int | None] = {}  # a class without a key, or one that failed -> its answer (None: failed)
    found: list[_Answer] = []
    reached = list(accumulate(class_counts)) if progress is not None else []
    analysed = 0
    while analysed < len(todo):
        n = todo[analysed]
        analysed += 1
        if progress is not None and analysed % 64 == 0:
            progress(reached[n], total)
        akey = keys[n] if keys is not None else None
        try:
            # from what the class table keeps of the class when it can (no config built)
            kept = keys.inputs(n) if keys is not None and akey is not None else None
            got = prover.analyse_facts(*kept, akey) if kept is not None else prover.analyse(units[n].config, akey)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed: an analysis that cannot run is no proof
            failed.append((units[n], exc))
            own[n] = None
            ngroups += sizes[n]
            checked += class_counts[n]
            for version, c in release_sets[which[n]].items():
                releases.tally(by_release, version, c, unknown=True)
            if keys is not None and akey is not None:
                later = next((i for i in range(n + 1, len(keys)) if keys[i] == akey), None)
                if later is not None:  # rare (fail closed): the classes left, kept in order
                    todo[analysed:] = sorted([*todo[analysed:], later])
            continue
        hits, ev, site = got
        a = answers.get((id(hits), id(ev)))
        if a is None:
            a = answers[(id(hits), id(ev))] = len(found)
            found.append(_Answer(hits, ev, site, units[n]))
        if akey is None:
            own[n] = a
        else:
            answer_of[akey] = a
    # each class summed into its answer: (answer, release map, groups) triples counted in C
    per_class: list[int | None] = list(map(answer_of.get, keys)) if keys is not None else [None] * len(class_counts)
    for n, owned in own.items():
        per_class[n] = owned
    for (a, w, size), times in Counter(zip(per_class, which, sizes, strict=True)).items():
        if a is None:
            continue  # failed: tallied above
        answer = found[a]
        answer.groups += size * times
        tallies = answer.by_release
        for version, c in release_sets[w].items():
            answer.count += c * times
            tallies[version] = tallies.get(version, 0) + c * times
    for answer in found:
        count, hits, ev = answer.count, answer.hits, answer.ev
        ngroups += answer.groups
        checked += count
        if not explanation:
            explanation = explain(prover, answer.config, ev, answer.site, relevant)
        if ev.shifts:
            shift_counts.add(tuple(c for c, _ in ev.shifts))
            for c, w in ev.shifts:
                if worst_shift is None or w - c < worst_shift[1] - worst_shift[0]:
                    worst_shift = (c, w, answer.config)
        blocking = False
        collides = False
        for h in hits:
            agg = aggs.get((h.kind, h.key))
            if agg is None:
                agg = aggs[(h.kind, h.key)] = Aggregate(h, answer.config)
            agg.count += count
            agg.groups += answer.groups
            if h.severity == "error":
                blocking = True
                if h.kind in COLLIDING:
                    collides = True
            if h.kind == "undefined-shift" and h.severity == "error":
                undefined_seen = True
        unsafe += count if blocking else 0
        colliding += count if collides else 0
        # nothing is proved on a config where the word is absent or the expression has no value
        no_proof = ev.value is None or any(h.kind == "missing-member" for h in hits)
        for version, c in answer.by_release.items():
            releases.tally(by_release, version, c, unsafe=blocking, unknown=no_proof)
    unknown = _failures(prover, groups, failed, relevant)
    if progress is not None:
        progress(checked, total)
    extra: list[tuple[Hit, Config, int]] = []
    if len(shift_counts) > 1 and worst_shift is not None and not undefined_seen:
        extra.append((_shift_note(prover, worst_shift, shift_counts), worst_shift[2], checked))
    findings: list[Finding] = []
    counts: list[int] = []
    for agg in sorted(aggs.values(), key=_order):
        findings.append(_finding(agg.hit, agg.config, relevant))
        counts.append(agg.count)
    for hit, cfg, n in extra:
        findings.append(_finding(hit, cfg, relevant))
        counts.append(n)
    # a word that does not exist in some configs (another release's name for it, a struct
    # the release lacks) is a question the model cannot answer there: never SAFE
    absent = [(f, n) for f, n in zip(findings, counts, strict=True) if f.kind == "missing-member"]
    if absent:
        f, n = absent[0]
        unknown.append(f"{prover.ask_base.label} does not exist on {n} of the configs checked (e.g. {f.config}): "
                       "nothing is proved there; ask about the word that release has (mmbits show STRUCT "
                       "--kernel VERSION lists it)")
    # an expression that does not compile on some configs (a name that release lacks, such as
    # PG_slab from 6.10) proves nothing there either: UNKNOWN, unless a counterexample stands
    noname = [(f, n) for f, n in zip(findings, counts, strict=True) if f.kind == "unknown-name"]
    if noname:
        f, n = noname[0]
        unknown.append(f"the expression does not compile on {n} of the configs checked (e.g. {f.config}): "
                       f"{f.data['what']} does not exist there; nothing is proved there")
    for reason in unknown:
        findings.append(Finding("unknown", reason, None, prover.ask_base.label, "warning"))
        counts.append(0)
    return _Static(prover, relevant, checked, unsafe, colliding, ngroups, findings, counts, explanation, unknown,
                   by_release)


def _collector_paused(pause: bool) -> AbstractContextManager[None]:
    """The cyclic garbage collector held off while a domain proof builds its long-lived,
    acyclic tables (group lists, classes, packings): over every release and arch its full
    passes over those millions of objects were a quarter of the process. Reference counting
    still frees everything; the collector runs again afterwards, with what survived the
    proof moved out of its reach (gc.freeze: those tables live as long as the group lists
    that hold them; otherwise its first pass, over every object the proof made, was a
    tenth of a new question over every release and arch)."""
    return collector_paused(freeze_after=True) if pause else nullcontext()


_GROUPS: dict[tuple[int, frozenset[str]], tuple[Any, Sequence[Group], dict[tuple[Any, ...], Any]]] = {}


def cached_groups(domain: Any, relevant: set[str]) -> tuple[Sequence[Group], dict[tuple[Any, ...], Any]]:
    """The domain's groups for these symbols, kept for the next check on the same
    question shape (a patch asks several; the domain object is load_domain()'s cached one),
    with the per-config memo (FlagsWord, Site by config id) that lives as long as the
    cached group list, which holds the configs: later checks on the same groups reuse it."""
    key = (id(domain), frozenset(relevant))
    hit = _GROUPS.get(key)
    if hit is not None and hit[0] is domain:
        return hit[1], hit[2]
    groups = GroupList(domain, relevant)  # configs built when asked for (prover.grouplist)
    if len(_GROUPS) >= 4:
        _GROUPS.pop(next(iter(_GROUPS)))
    memo: dict[tuple[Any, ...], Any] = {}
    _GROUPS[key] = (domain, groups, memo)
    return groups, memo


def _failures(prover: Prover, groups: Sequence[Group], failed: list[tuple[classes.Unit, Exception]],
              relevant: set[str]) -> list[str]:
    """UNKNOWN's reasons for the first three groups whose analysis could not run (every
    group of a class reads the same inputs, so fails as its representative did)."""
    if not failed:
        return []
    named: list[tuple[int, Group, Exception]] = []
    for unit, exc in failed:
        named += [(i, g, exc) for i, g in classes.members(prover, groups, unit)[:3]]
    return [f"the static analysis failed on {g.config.name or g.config.describe(relevant)} "
            f"({type(exc).__name__}: {exc})" for _, g, exc in sorted(named, key=lambda t: t[0])[:3]]


def _check_buildable(config: Config) -> None:
    word = compute(config)
    if word.errors:
        raise InvalidConfigError(f"config {config.label()} cannot build: {'; '.join(word.errors)}",
                                 failed=list(word.errors))


_SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}


def _order(agg: Aggregate) -> tuple[int, str, bool, int]:
    # static collisions before ones a boot-time mode makes, then by how many configs
    return (_SEVERITY_ORDER[agg.hit.severity], agg.hit.kind, bool(agg.hit.data_dict().get("runtime")), -agg.count)


def _finding(hit: Hit, config: Config, relevant: Iterable[str]) -> Finding:
    data = dict(hit.data)
    data["what"] = hit.what
    shown = _primaries(tuple(sorted(relevant)))  # once, not once per symbol of the config
    data["config_symbols"] = {k: v for k, v in sorted(config.primary.items()) if k in shown}
    if config.name:
        data["config_name"] = config.name
    return Finding(hit.kind, hit.message, config.name or config.describe(relevant), hit.where, hit.severity, data)


_PRIM: dict[tuple[str, ...], frozenset[str]] = {}


def _primaries(relevant: tuple[str, ...]) -> frozenset[str]:
    hit = _PRIM.get(relevant)
    if hit is None:
        from mmbits.kconfig.model import load_model

        hit = _PRIM[relevant] = load_model().primaries_behind(relevant) | {"ARCH"}
    return hit


def _shift_note(prover: Prover, worst: tuple[int, int, Config], counts: set[tuple[int, ...]]) -> Hit:
    count, width, cfg = worst
    seen = sorted({c for cs in counts for c in cs})
    msg = (f"the shift count depends on the config ({seen[0]}..{seen[-1]} over the configs checked) and is defined on "
           f"all of them: the closest is {count} against a {width}-bit type; it becomes undefined once the count "
           f"reaches {width}, and nothing in the expression guards that")
    if "NR_PAGEFLAGS" in prover.xp.idents:
        word = compute(cfg)
        for k in range(1, width - word.nr_pageflags + 2):
            grown = compute(cfg, extra_flags=k)
            if grown.errors:
                if grown.nr_pageflags < width:
                    msg += (f"; on that config the kernel's own {grown.errors[0]} stops the build at NR_PAGEFLAGS = "
                            f"{grown.nr_pageflags}, before the shift could become undefined")
                elif grown.nr_pageflags == width:
                    msg += (f"; on that config only the kernel's own {grown.errors[0]} (at NR_PAGEFLAGS = "
                            f"{width}) keeps it from becoming undefined")
                break
    return Hit("undefined-shift", "shift-margin", msg, prover.ask_base.label, "note", "shift count",
               (("count", count), ("width", width), ("counts", seen)))


