"""A proposal's C expression, prepared once and evaluated per config.

The expression may use the kernel's names (c_names: PG_*, PT_*, NR_PAGEFLAGS,
masks, PGTY_*), macros the proposal defines (`--define NAME=EXPR`, or the
`#define`s a patch adds) and new enum pageflags entries (`--new-flag NAME`).
It may also be a *condition* on a descriptor word, as patches write it:
`ptdesc->some_field | PTDESC_KERNEL`. Then the runtime operand is kept aside,
the constant operands are evaluated, and `|` with a non-zero constant is
reported as always true.

Results are cached on the values of the names the expression reads, so
100k configs evaluate it a few dozen times.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

from mmbits.errors import InputError
from mmbits.expression.compiled import suggest
from mmbits.expression.csem import BitExprError, evaluate, identifiers, tree_of
from mmbits.expression.syntax import Node, flatten, has_member, walk
from mmbits.flags.packing import compute
from mmbits.names import c_names

_DEFINE_NAME = re.compile(r"[A-Za-z_]\w*")


def has_runtime(text: str) -> bool:
    """Whether an expression reads a descriptor word (`ptdesc->pt_flags.f | X`)."""
    try:
        return has_member(tree_of(" ".join(str(text).split())))
    except BitExprError:
        return False


class Value(NamedTuple):
    """The expression for one config. (Value and ExprPlan are no dataclasses: every check
    imports them, and a dataclass compiles its methods at import.)"""

    value: int | None  # None: undefined, or a name is absent
    type: str | None
    problems: tuple[tuple[str, str], ...]
    absent: tuple[str, ...] = ()
    shifts: tuple[tuple[int, int], ...] = ()
    always_true: bool = False  # condition mode: `x | C` with C != 0
    constant_true: str = ""  # the operand that makes it so


class ExprPlan:
    """An expression parsed once (`plan`), evaluated per config with its own caches."""

    __slots__ = ("text", "defines", "new_flags", "mode", "runtime", "operator", "operands", "idents", "bit_number",
                 "tree", "operand_trees", "define_trees", "_cache", "_names", "_fast")

    def __init__(self, text: str, defines: dict[str, str] | None = None, new_flags: tuple[str, ...] = ()):
        self.text = text
        self.defines: dict[str, str] = {} if defines is None else defines
        self.new_flags = new_flags
        self.mode = "value"  # value | condition
        self.runtime: tuple[str, ...] = ()  # runtime operands (condition mode)
        self.operator = ""  # top-level operator of a condition: | || &
        self.operands: tuple[str, ...] = ()  # constant operands of the condition
        self.idents: tuple[str, ...] = ()
        self.bit_number: str | None = None  # the expression was an enum bit number (PG_referenced): evaluated as BIT(it)
        self.tree: Node | None = None  # the expression, parsed once (value mode)
        self.operand_trees: tuple[Node, ...] = ()  # the constant operands, parsed once (condition mode)
        self.define_trees: dict[str, Node] = {}
        self._cache: dict[tuple[Any, ...], Value] = {}
        self._names: dict[int, tuple[Any, ...]] = {}
        self._fast: dict[int, tuple[Any, ...]] = {}

    def __repr__(self) -> str:
        return f"ExprPlan(text={self.text!r}, mode={self.mode!r}, idents={self.idents!r})"

    @property
    def bare_name(self) -> str | None:
        """`PT_kernel` or `BIT(PG_referenced)`: the name the expression is, if it is one."""
        if self.mode != "value" or self.tree is None:
            return None
        node = self.tree
        if node.op == "call" and node.value in ("BIT", "BIT_ULL") and len(node.args) == 1:
            node = node.args[0]
        return str(node.value) if node.op == "sym" else None

    def config_dependent(self) -> bool:
        """Whether any name read can change with the config (PGTY_* and UINT_MAX cannot)."""
        from mmbits.flags.data import load_flag_data

        constant = {t.name for t in load_flag_data().page_types} | {"UINT_MAX", "PAGE_TYPE_SHIFT"}
        return any(i not in constant for i in self.idents)

    # -- evaluation --------------------------------------------------------------
    def names_for(self, config: Mapping[str, Any], word: Any = None) -> tuple[dict[str, int], dict[str, str]]:
        # c_names() depends on the config only through its FlagsWord: key on that object
        # (held in the cache, so its id stays unique) instead of on the raw inputs
        if word is None:
            word = compute(config, extra_flags=len(self.new_flags))
        hit = self._names.get(id(word))
        if hit is not None:
            return hit[1], hit[2]
        names, types = c_names(config, len(self.new_flags))
        self._names[id(word)] = (word, names, types)
        if not self.new_flags and not self.defines:
            return names, types
        names, types = dict(names), dict(types)
        for i, name in enumerate(self.new_flags):
            names[name] = names[f"PG_new{i + 1}"]
        return names, types

    def evaluate(self, config: Mapping[str, Any], word: Any = None) -> Value:
        """`word`: the config's FlagsWord with the new flags, if the caller has it already."""
        if word is None:
            word = compute(config, extra_flags=len(self.new_flags))
        fast = self._fast.get(id(word))
        if fast is None:
            # the names the expression reads, straight from the FlagsWord when c_names()
            # would give the same (tests/prover check they agree); the full table otherwise
            values: list[Any] = []
            own = True  # every name read is the word's own
            for name in self.idents:
                v = _fast_value(word, name, self.new_flags)
                if v is _SLOW:
                    own = False
                    names, _ = self.names_for(config, word)
                    v = names.get(name)
                values.append(v)
            fast = self._fast[id(word)] = (word, (word.bits, *values), own)
        key = fast[1]
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if fast[2] and self.mode == "value" and not self.defines and not self.new_flags:
            # the value reads only those names: evaluated with them alone, not c_names()'s
            # whole table of the config (its masks, every alias, the page types), as a new
            # question does once per flag shape (tests/prover/test_expr.py: the same Values)
            names = dict(zip(self.idents, key[1:], strict=True))
            types = {"UINT_MAX": "unsigned int"} if "UINT_MAX" in names else {}
            bpl = word.bits
        else:
            names, types = self.names_for(config, word)
            bpl = names["BITS_PER_LONG"]
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        value = self._evaluate(names, types, bpl)
        self._cache[key] = value
        return value

    def _evaluate(self, names: dict[str, int], types: dict[str, str], bpl: int) -> Value:
        problems: list[tuple[str, str]] = []
        shifts: list[tuple[int, int]] = []
        if self.defines:
            names, types = dict(names), dict(types)
            for name, text in self.defines.items():
                tree = self.define_trees[name]
                missing = sorted(identifiers(tree) - set(names))
                if missing:
                    return Value(None, None, (), tuple(missing))
                ev = evaluate(tree, names, bpl, types, text)
                problems += [(k, f"{name}: {m}") for k, m in ev.problems]
                shifts += ev.shifts
                names[name] = ev.value if ev.value is not None else 0
                if ev.type is not None:
                    types[name] = ev.type.name
        trees = [self.tree] if self.mode == "value" and self.tree is not None else list(self.operand_trees)
        missing = sorted(set().union(*(identifiers(t) for t in trees)) - set(names)) if trees else []
        if missing:
            return Value(None, None, (), tuple(missing))
        if self.mode == "value" and self.tree is not None:
            ev = evaluate(self.tree, names, bpl, types, self.text)
            problems += ev.problems
            shifts += ev.shifts
            return Value(ev.value, ev.type.name if ev.type else None, tuple(problems), (), tuple(shifts))
        # condition: combine the constant operands the way the operator does
        combined: int | None = None
        ctype = None
        true_by = ""
        for text, tree in zip(self.operands, self.operand_trees, strict=True):
            ev = evaluate(tree, names, bpl, types, text)
            problems += ev.problems
            shifts += ev.shifts
            if ev.value is None:
                continue
            ctype = ev.type.name if ev.type else ctype
            if self.operator in ("|", "||") and ev.value != 0 and not true_by:
                true_by = text
            if combined is None:
                combined = ev.value
            elif self.operator == "&":
                combined &= ev.value
            else:
                combined |= ev.value
        return Value(combined, ctype, tuple(problems), (), tuple(shifts), bool(true_by), true_by)


_SLOW = object()


@cache
def _constant_names() -> dict[str, int]:
    from mmbits.flags.data import load_flag_data

    data = load_flag_data()
    out = {t.name: t.value for t in data.page_types}
    out["PAGE_TYPE_SHIFT"] = data.page_type_shift
    out["UINT_MAX"] = 0xFFFFFFFF
    return out


def _fast_value(word: Any, name: str, new_flags: Sequence[str]) -> Any:
    """A name's value from the FlagsWord alone, or _SLOW when only c_names() knows it."""
    if name in ("NR_PAGEFLAGS", "__NR_PAGEFLAGS"):
        return word.nr_pageflags
    if name == "BITS_PER_LONG":
        return word.bits
    const = _constant_names().get(name)
    if const is not None:
        return const
    if name in new_flags:
        return word.nr_pageflags - len(new_flags) + list(new_flags).index(name)
    fl = word.flag(name)
    if fl is not None:
        return fl.bit
    return _SLOW


def plan(text: str, defines: Mapping[str, str] | None = None, new_flags: Sequence[str] = (),
         universe: set[str] | None = None) -> ExprPlan:
    """Parse an expression once; unknown names (in no config at all) are bad input, with close matches."""
    text = " ".join(str(text).split())
    if not text:
        raise InputError("the bit expression is empty")
    defines = dict(defines or {})
    p = ExprPlan(text, defines, tuple(new_flags))
    tree = tree_of(text)
    if tree.op == "sym" and (tree.value in _enum_bit_names() or tree.value in new_flags):
        # `PG_referenced`, `PT_kernel`: an enum pageflags/pt_flags/slab_flags constant is a bit
        # number (what set_bit() takes), so the bit it names is BIT(it)
        p.bit_number = str(tree.value)
        p.text = text = f"BIT({tree.value})"
        tree = tree_of(text)
    if has_member(tree):
        op = str(tree.value) if tree.op == "bin" else ""
        runtime = [str(n.value) for n in walk(tree) if n.op == "member"]
        if op not in ("|", "||", "&"):
            raise InputError(f"{text!r}: a condition on a descriptor word must be `WORD | CONST` or "
                             f"`WORD & CONST` (found runtime operand {runtime[0]!r})")
        consts = [o for o in flatten(tree, op) if not has_member(o)]
        if not consts:
            raise InputError(f"{text!r}: no constant operand to check")
        p.mode, p.runtime, p.operator = "condition", tuple(runtime), op
        p.operands = tuple(o.source(text) for o in consts)
        p.operand_trees = tuple(consts)
        trees = consts
    else:
        p.tree = tree
        trees = [tree]
    try:
        p.define_trees = {name: tree_of(" ".join(body.split())) for name, body in defines.items()}
    except BitExprError as exc:
        raise InputError(str(exc)) from None
    idents: set[str] = set()
    for t in [*trees, *p.define_trees.values()]:
        idents |= identifiers(t)
    idents -= set(defines)
    p.idents = tuple(sorted(idents))
    if universe is None and (idents <= _data_names() | _WORD_NAMES | set(new_flags)
                             or idents <= _common_names() | set(new_flags)):
        unknown: list[str] = []  # names of the data or of the default preset (parts of the universe): no other preset built
    else:
        known = (universe if universe is not None else name_universe()) | set(new_flags)
        unknown = sorted(i for i in idents if i not in known)
    if unknown:
        raise InputError(f"unknown name {unknown[0]!r}{suggest(unknown[0], known)} in {text!r}")
    return p


@cache
def _enum_bit_names() -> frozenset[str]:
    from mmbits.flags.data import load_flag_data

    return frozenset(load_flag_data().all_names())


@cache
def _data_names() -> frozenset[str]:
    """The names the data files define whatever the config: flags, aliases, page types."""
    from mmbits.flags.data import load_flag_data

    data = load_flag_data()
    return frozenset(set(data.all_names()) | {t.name for t in data.page_types} | {"UINT_MAX", "PAGE_TYPE_SHIFT"})


# names every config has (FlagsWord.symbols() defines them whatever the packing): part of
# the universe known without building the default preset and its names
_WORD_NAMES = frozenset({"NR_PAGEFLAGS", "__NR_PAGEFLAGS", "BITS_PER_LONG"})


@cache
def _common_names() -> frozenset[str]:
    """A part of the universe that is cheap to know: the data's names and the default
    preset's (NR_PAGEFLAGS, BITS_PER_LONG, the masks ...)."""
    from mmbits.cli.common import DEFAULT_PRESET
    from mmbits.kconfig.presets import preset

    names, _ = c_names(preset(DEFAULT_PRESET))
    return _data_names() | frozenset(names)


@cache
def _universe() -> frozenset[str]:
    from mmbits.kconfig.presets import preset, preset_names

    out = set(_data_names())
    for name in preset_names():
        names, _ = c_names(preset(name))
        out |= set(names)
    return frozenset(out)


def name_universe() -> set[str]:
    """Every name that exists in some config: absent in one config is a note, in all of them an error."""
    return set(_universe())


def parse_define(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    name = name.strip()
    if not sep or not _DEFINE_NAME.fullmatch(name) or not value.strip():
        raise InputError(f"--define expects NAME=EXPR, got {item!r}")
    return name, value.strip()
