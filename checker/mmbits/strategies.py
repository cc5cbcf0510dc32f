"""hypothesis strategies for fuzzing page descriptor layouts and bit proposals.

    from hypothesis import given
    from mmbits.strategies import configs, layouts, proposals, raw_pages

    @given(configs(domain="default"))
    def test_my_bit_is_free(config): ...

Everything is drawn from the same data the tool uses (layouts/, the Kconfig
model, the config domains), so a strategy only ever yields configs Kconfig
would accept, and shrinking moves toward the simplest config of a domain
(the first value of every varied option).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

__all__ = ["configs", "layouts", "mutated_specs", "proposals", "raw_pages", "bit_expressions"]


# -- configs -------------------------------------------------------------

def configs(domain: str = "default", arch: str | None = None) -> st.SearchStrategy[Any]:
    """Valid configs of a domain (optionally one arch), shrinking toward simple ones.

    A config is drawn as one index per Kconfig-rule component of a domain part
    into that component's valid assignments, so every draw is valid and index 0
    (the first value of each varied symbol, usually "off") is what it shrinks to.
    """
    from mmbits.kconfig.domain import load_domain

    dom = load_domain(domain)
    parts = [p for p in dom.parts if arch is None or p.arch == arch]
    fixed = [c for c in dom.fixed if arch is None or c.arch == arch]
    if not parts and not fixed:
        raise ValueError(f"domain {domain!r} has no configs for arch {arch!r}")
    choices: list[st.SearchStrategy[Any]] = []
    for part in parts:
        comps = [c for c in part.components() if c.valid()]
        if part.size() == 0:
            continue

        def build(indices: list[int], part: Any = part, comps: list[Any] = comps) -> Any:
            values: dict[str, Any] = {}
            for comp, i in zip(comps, indices, strict=True):
                values.update(comp.valid()[i % len(comp.valid())])
            return part.model.make_unchecked(part.primary(values), name=None)

        def from_indices(t: tuple[int, ...], b: Any = build) -> Any:
            return b(list(t))

        choices.append(st.tuples(*(st.integers(0, len(c.valid()) - 1) for c in comps)).map(from_indices))
    if fixed:
        choices.append(st.sampled_from(fixed))
    return st.one_of(*choices)


def presets() -> st.SearchStrategy[Any]:
    """The named presets (mmbits configs)."""
    from mmbits.kconfig.presets import preset, preset_names

    return st.sampled_from(preset_names()).map(preset)


# -- layouts ----------------------------------------------------------------

def layouts(struct: str = "page", config: st.SearchStrategy[Any] | None = None,
            mutate: bool = False) -> st.SearchStrategy[Any]:
    """Resolved layouts of `struct`; with mutate=True, layouts of a mutated spec
    (a member moved, resized or added, a union arm added) for "what if" fuzzing.
    A mutated Layout's `source` says what was changed."""
    from mmbits.layout.registry import layouts as layout_set

    cfgs = config if config is not None else configs()
    if not mutate:
        return cfgs.map(lambda c: layout_set().resolve(struct, c))
    return st.tuples(cfgs, mutated_specs(struct)).map(lambda t: _resolve_mutated(t[1], t[0]))


def _resolve_mutated(mutated: tuple[Any, str], config: Any) -> Any:
    from mmbits.layout.registry import layout_env
    from mmbits.layout.registry import layouts as layout_set
    from mmbits.layout.resolve import resolve_spec

    spec, what = mutated
    lset = layout_set()
    env = layout_env(config)
    layout = resolve_spec(spec, env, lset.types, lambda ref: lset.resolve(ref, config, env), config=config)
    layout.source = f"mutation of struct {spec.name}: {what}"
    return layout


_MUTATION_TYPES = ["unsigned long", "unsigned int", "int", "void *", "struct list_head", "atomic_t",
                   "unsigned char", "long unsigned int[2]"]


@st.composite
def mutated_specs(draw: st.DrawFn, struct: str = "page") -> tuple[Any, str]:
    """(LayoutSpec, description) with one mutation applied to the shipped spec."""
    from mmbits.layout.registry import layouts as layout_set
    from mmbits.layout.spec import SpecNode

    spec = copy.deepcopy(layout_set().spec(struct))
    blocks = [n for n in spec.root.walk() if n.kind in ("struct", "union") and n.children]
    block = draw(st.sampled_from(blocks))
    kind = draw(st.sampled_from(["move", "resize", "add", "union-arm"]))
    types = layout_set().types
    i = draw(st.integers(0, len(block.children) - 1))
    target = block.children[i]
    if kind == "move" and len(block.children) > 1:
        j = draw(st.integers(0, len(block.children) - 1))
        block.children.insert(j, block.children.pop(i))
        what = f"moved {target.name or target.kind} from position {i} to {j} in its {block.kind}"
    elif kind == "resize" and target.kind == "field" and target.bits is None:
        new = draw(st.sampled_from(_MUTATION_TYPES))
        target.type = types.parse(new)
        target.type_text = new
        what = f"{target.name} retyped to {new}"
    elif kind == "union-arm":
        new = draw(st.sampled_from(_MUTATION_TYPES))
        arm = SpecNode("field", f"__fuzz_arm_{i}", target.line, type=types.parse(new), type_text=new,
                       note="fuzzed union arm")
        wrapper = SpecNode("union", None, target.line, children=[target, arm])
        block.children[i] = wrapper
        what = f"union arm {new} __fuzz_arm_{i} added beside {target.name or target.kind}"
    else:
        new = draw(st.sampled_from(_MUTATION_TYPES))
        field = SpecNode("field", f"__fuzz_{i}", target.line, type=types.parse(new), type_text=new,
                         note="fuzzed member")
        block.children.insert(i, field)
        what = f"member {new} __fuzz_{i} added at position {i} of its {block.kind}"
    return spec, what


# -- proposals ------------------------------------------------------------

FLAG_WORDS = ["page.flags", "ptdesc.pt_flags", "slab.flags", "folio._flags_1", "zpdesc.flags",
              "ioptdesc.__page_flags"]
TYPE_WORDS = ["page.page_type", "ptdesc.__page_type", "slab.__page_type", "ioptdesc.__page_type"]


@st.composite
def bit_expressions(draw: st.DrawFn, width: int = 64) -> str:
    """C bit expressions of the shapes patches use."""
    n = draw(st.integers(0, width + 2))
    flag = draw(st.sampled_from(["PG_referenced", "PG_reserved", "PG_owner_2", "PG_arch_1", "PG_private",
                                 "PG_reclaim", "PG_uptodate", "PG_swapbacked", "PG_head", "PG_locked"]))
    k = draw(st.integers(0, 4))
    return draw(st.sampled_from([
        f"BIT({n})", f"1 << {n}", f"1UL << {n}", f"BIT(NR_PAGEFLAGS + {k})", "BIT(NR_PAGEFLAGS)",
        flag, f"BIT({flag})", f"(1UL << {min(n, width - 1)}) - 1", f"GENMASK({min(n, width - 1)}, 0)",
    ]))


@st.composite
def proposals(draw: st.DrawFn, word: str | None = None, kind: str | None = None,
              lifecycle: bool | None = None) -> Any:
    """Proposal objects: a bit expression in a descriptor word, on a page kind,
    optionally with set/test/clear steps (a marking scheme)."""
    from mmbits.flags.data import load_flag_data
    from mmbits.proposal import STEPS, Proposal

    w = word or draw(st.sampled_from(FLAG_WORDS + TYPE_WORDS))
    width = 32 if w in TYPE_WORDS else 64
    k = kind or draw(st.sampled_from(sorted(load_flag_data().kinds)))
    expr = draw(bit_expressions(width))
    with_steps = draw(st.booleans()) if lifecycle is None else lifecycle
    steps = [s for s in STEPS if s != "never"]
    if with_steps:
        return Proposal(expr=expr, word=w, kind=k, name=draw(st.sampled_from(["PT_fuzz", "PTDESC_FUZZ", None])),
                        set_at=draw(st.sampled_from(steps)), test_at=draw(st.sampled_from(steps)),
                        clear_at=draw(st.sampled_from([*steps, "never"])))
    return Proposal(expr=expr, word=w, kind=k)


# -- raw struct pages -----------------------------------------------------

KERNEL_BASE = {64: 0xFFFF888000000000, 32: 0xC0000000}
VMEMMAP_BASE = {64: 0xFFFFEA0000000000, 32: 0xC1000000}


@st.composite
def raw_pages(draw: st.DrawFn, kind: str = "pgtable", config: Any = None) -> tuple[Any, bytes]:
    """(config, bytes) of a plausible struct page of `kind` (kinds.yaml): zone
    and node in the flags word, the kind's page type or mapping tag, a refcount,
    kernel-address pointers in the list words, a tail marker for tails."""
    from mmbits.flags.data import load_flag_data
    from mmbits.flags.packing import compute
    from mmbits.kconfig.presets import preset
    from mmbits.layout.registry import layouts as layout_set

    data = load_flag_data()
    if kind not in data.kinds:
        raise ValueError(f"unknown page kind {kind!r}; known: {', '.join(data.kinds)}")
    cfg = config if config is not None else draw(st.sampled_from(["x86_64-6.18", "arm64-kasan-sw-tags",
                                                                  "i386-pae-sparsemem"]).map(preset))
    page = layout_set().resolve("page", cfg)
    word = compute(cfg)
    bits = cfg.bits
    values: dict[str, int] = {}
    flags = 0
    for f in word.fields:
        if f.runtime:
            continue
        limit = len(word.zones) - 1 if f.name == "zone" else (1 << f.width) - 1
        flags |= draw(st.integers(0, limit)) << f.lsb
    usable = [f for f in word.flags if kind in f.kinds or any(kind in a.kinds for a in f.aliases)]
    for flag in draw(st.lists(st.sampled_from(usable), max_size=4, unique=True)) if usable else []:
        flags |= 1 << flag.bit
    values["flags"] = flags
    def pointer(i: int, b: int = bits) -> int:
        return KERNEL_BASE[b] + i * (16 if b == 64 else 8)

    ptr = st.integers(0, (1 << 20) - 1).map(pointer)
    info = data.kinds[kind]
    pgty = next((t for t in data.page_types if t.name == info.page_type), None)
    values["page_type"] = (pgty.value << data.page_type_shift) if pgty else 0xFFFFFFFF
    values["_refcount"] = 0 if kind in ("buddy", "tail") else draw(st.integers(1, 3))
    if kind == "tail":
        tail_word = "compound_info" if "compound_info" in page.words else "compound_head"  # renamed in 7.1
        values[tail_word] = VMEMMAP_BASE[bits] + draw(st.integers(0, 1 << 16)) * page.size + 1
    else:
        values["lru.next"] = draw(ptr)
        values["lru.prev"] = draw(ptr)
    if kind == "anon":
        values["mapping"] = draw(ptr) | 1  # FOLIO_MAPPING_ANON
    elif kind == "file":
        values["mapping"] = draw(ptr)
    values["__folio_index"] = draw(st.integers(0, (1 << (bits - 12)) - 1))
    return cfg, page.encode(values)


def sequence_of(strategy: st.SearchStrategy[Any], size: int = 3) -> st.SearchStrategy[Sequence[Any]]:
    return st.lists(strategy, min_size=1, max_size=size)
