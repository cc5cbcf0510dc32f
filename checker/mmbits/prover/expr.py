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
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mmbits.bitexpr import BitExprError, evaluate, identifiers
from mmbits.cexpr import suggest
from mmbits.errors import InputError
from mmbits.flags.packing import compute
from mmbits.names import c_names

# a runtime operand: a member access chain (ptdesc->pt_flags.f, folio->_flags_1). Linear
# time: a match starts only at the start of a name (lookbehind) and possessive runs never
# give characters back, so a 100,000-character name costs one pass, not one per position
_RUNTIME = re.compile(r"(?<!\w)[A-Za-z_]\w*+(?:\s*+(?:->|\.)\s*+[A-Za-z_]\w*+(?:\s*+\[[^\][]*\])?)+")
_BARE = re.compile(r"^\s*+(?:BIT(?:_ULL)?\s*+\(\s*+)?([A-Za-z_]\w*+)\s*+\)?\s*+$")  # possessive: linear on 200 KB of blanks


@dataclass(frozen=True)
class Value:
    """The expression for one config."""

    value: int | None  # None: undefined, or a name is absent
    type: str | None
    problems: tuple[tuple[str, str], ...]
    absent: tuple[str, ...] = ()
    shifts: tuple[tuple[int, int], ...] = ()
    always_true: bool = False  # condition mode: `x | C` with C != 0
    constant_true: str = ""  # the operand that makes it so


@dataclass
class ExprPlan:
    text: str
    defines: dict[str, str] = field(default_factory=dict)
    new_flags: tuple[str, ...] = ()
    mode: str = "value"  # value | condition
    runtime: tuple[str, ...] = ()  # runtime operands (condition mode)
    operator: str = ""  # top-level operator of a condition: | || &
    operands: tuple[str, ...] = ()  # constant operands of the condition
    idents: tuple[str, ...] = ()
    bit_number: str | None = None  # the expression was an enum bit number (PG_referenced): evaluated as BIT(it)
    _cache: dict[tuple, Value] = field(default_factory=dict, repr=False)
    _names: dict[int, tuple] = field(default_factory=dict, repr=False)
    _fast: dict[int, tuple] = field(default_factory=dict, repr=False)

    @property
    def bare_name(self) -> str | None:
        """`PT_kernel` or `BIT(PG_referenced)`: the name the expression is, if it is one."""
        if self.mode != "value":
            return None
        m = _BARE.match(self.text)
        return m.group(1) if m and not m.group(1).isdigit() else None

    def config_dependent(self) -> bool:
        """Whether any name read can change with the config (PGTY_* and UINT_MAX cannot)."""
        from mmbits.flags.data import load_flag_data

        constant = {t.name for t in load_flag_data().page_types} | {"UINT_MAX", "PAGE_TYPE_SHIFT"}
        return any(i not in constant for i in self.idents)

    # -- evaluation --------------------------------------------------------------
    def names_for(self, config: Mapping, word: Any = None) -> tuple[dict[str, int], dict[str, str]]:
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

    def evaluate(self, config: Mapping, word: Any = None) -> Value:
        """`word`: the config's FlagsWord with the new flags, if the caller has it already."""
        if word is None:
            word = compute(config, extra_flags=len(self.new_flags))
        fast = self._fast.get(id(word))
        if fast is None:
            # the names the expression reads, straight from the FlagsWord when c_names()
            # would give the same (tests/prover check they agree); the full table otherwise
            values: list[Any] = []
            for name in self.idents:
                v = _fast_value(word, name, self.new_flags)
                if v is _SLOW:
                    names, _ = self.names_for(config, word)
                    v = names.get(name)
                values.append(v)
            fast = self._fast[id(word)] = (word, (word.bits, *values))
        key = fast[1]
        hit = self._cache.get(key)
        if hit is not None:
            return hit
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
                missing = sorted(identifiers(text) - set(names))
                if missing:
                    return Value(None, None, (), tuple(missing))
                ev = evaluate(text, names, bpl, types)
                problems += [(k, f"{name}: {m}") for k, m in ev.problems]
                shifts += ev.shifts
                names[name] = ev.value if ev.value is not None else 0
                if ev.type is not None:
                    types[name] = ev.type.name
        texts = [self.text] if self.mode == "value" else list(self.operands)
        missing = sorted(set().union(*(identifiers(t) for t in texts)) - set(names)) if texts else []
        if missing:
            return Value(None, None, (), tuple(missing))
        if self.mode == "value":
            ev = evaluate(self.text, names, bpl, types)
            problems += ev.problems
            shifts += ev.shifts
            return Value(ev.value, ev.type.name if ev.type else None, tuple(problems), (), tuple(shifts))
        # condition: combine the constant operands the way the operator does
        combined: int | None = None
        ctype = None
        true_by = ""
        for text in self.operands:
            ev = evaluate(text, names, bpl, types)
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


def _strip_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, ch in enumerate(text):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(text) - 1:
                return text
        text = text[1:-1].strip()
    return text


def split_top(text: str) -> tuple[str, list[str]]:
    """The lowest-precedence binary operator at paren depth 0 among || && | &, and its operands."""
    for op in ("||", "&&", "|", "&"):
        parts: list[str] = []
        depth = 0
        start = 0
        i = 0
        found = False
        while i < len(text):
            ch = text[i]
            if ch in "([":
                depth += 1
            elif ch in ")]":
                depth -= 1
            elif depth == 0 and text.startswith(op, i):
                doubled = op in ("|", "&") and (text[i + 1:i + 2] == op or (i > 0 and text[i - 1] == op))
                if not doubled:
                    parts.append(text[start:i])
                    start = i + len(op)
                    i += len(op)
                    found = True
                    continue
            i += 1
        if found:
            parts.append(text[start:])
            return op, [p.strip() for p in parts]
    return "", [text]


def plan(text: str, defines: Mapping[str, str] | None = None, new_flags: Sequence[str] = (),
         universe: set[str] | None = None) -> ExprPlan:
    """Prepare an expression; unknown names (in no config at all) are bad input, with close matches."""
    text = " ".join(str(text).split())
    if not text:
        raise InputError("the bit expression is empty")
    defines = dict(defines or {})
    p = ExprPlan(text, defines, tuple(new_flags))
    m = _BARE.match(text)
    if m and not text.lstrip().startswith("BIT") and (m.group(1) in _enum_bit_names() or m.group(1) in new_flags):
        # `PG_referenced`, `PT_kernel`: an enum pageflags/pt_flags/slab_flags constant is a bit
        # number (what set_bit() takes), so the bit it names is BIT(it)
        p.bit_number = m.group(1)
        p.text = text = f"BIT({m.group(1)})"
    runtime = [m.group(0) for m in _RUNTIME.finditer(text)]
    if runtime:
        body = _strip_parens(text)
        op, parts = split_top(body)
        if op not in ("|", "||", "&"):
            raise InputError(f"{text!r}: a condition on a descriptor word must be `WORD | CONST` or "
                             f"`WORD & CONST` (found runtime operand {runtime[0]!r})")
        consts = [q for q in parts if not _RUNTIME.search(q)]
        if not consts:
            raise InputError(f"{text!r}: no constant operand to check")
        p.mode, p.runtime, p.operator, p.operands = "condition", tuple(runtime), op, tuple(consts)
        texts = consts
    else:
        texts = [text]
    idents: set[str] = set()
    try:
        for t in [*texts, *defines.values()]:
            idents |= identifiers(t)
    except BitExprError as exc:
        raise InputError(str(exc)) from None
    idents -= set(defines)
    p.idents = tuple(sorted(idents))
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
def _universe() -> frozenset[str]:
    from mmbits.flags.data import load_flag_data
    from mmbits.kconfig.presets import preset, preset_names

    data = load_flag_data()
    out = set(data.all_names()) | {t.name for t in data.page_types} | {"UINT_MAX", "PAGE_TYPE_SHIFT"}
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
    if not sep or not re.fullmatch(r"[A-Za-z_]\w*", name) or not value.strip():
        raise InputError(f"--define expects NAME=EXPR, got {item!r}")
    return name, value.strip()
