"""C spellings of BTF types, the way pahole names them.

The model's `Member.type` is the canonical spelling the YAML layouts use
(`long unsigned int`, `struct list_head *`, `mm_id_t[2]`), so that our JSON
and the BTF reader's JSON can be diffed. Declarators are built the C way
(`void (*)(struct callback_head *)`, `char * const`, `int (*)[4]`); the
printer turns them into pahole's quirky text where that differs.
"""

from __future__ import annotations

from mmbits.btf.reader import MAX_HOPS, Btf
from mmbits.btf.wire import (
    ARRAY,
    FUNC_PROTO,
    KEYWORDED,
    PTR,
    QUALIFIERS,
    RESTRICT,
    SELF_NAMED,
    TAGS,
    TYPE_TAG,
    VAR,
)


def type_name(btf: Btf, tid: int) -> str:
    """The abstract declarator of a type: what goes in `Member.type`."""
    return declare(btf, tid, "")


def declare(btf: Btf, tid: int, inner: str, _depth: int = 0) -> str:
    """`inner` declared with type `tid` (C declarator rules)."""
    if _depth > MAX_HOPS:
        raise btf.deep_or_loop(tid, "spelling")
    if tid == 0:
        return _join("void", inner)
    kind = btf.kind(tid)
    if kind in SELF_NAMED:
        return _join(btf.name(tid), inner)
    if kind in KEYWORDED:
        name = btf.name(tid)
        return _join(f"{btf.keyword(tid)} {name}" if name else f"{btf.keyword(tid)} {{...}}", inner)
    if kind in TAGS or kind == VAR:
        return declare(btf, btf.ref(tid), inner, _depth + 1)
    if kind in QUALIFIERS:
        target = btf.strip_modifiers(btf.ref(tid)) if kind != RESTRICT else btf.ref(tid)
        qual = QUALIFIERS[kind]
        if btf.kind(target) == PTR:  # qualifies the pointer itself: T * const
            return declare(btf, btf.ref(tid), f"{qual} {inner}".rstrip() if inner else qual, _depth + 1)
        base = declare(btf, btf.ref(tid), "", _depth + 1)
        return _join(f"{qual} {base}", inner)
    if kind == PTR:
        target = btf.skip(btf.ref(tid), frozenset({TYPE_TAG}))
        tkind = btf.kind(target)
        star = "*" + (" " + inner if inner and not inner.startswith(("*", "(", "[")) else inner)
        if tkind in (ARRAY, FUNC_PROTO):
            star = f"({star})"
        return declare(btf, target, star, _depth + 1)
    if kind == ARRAY:
        elem, _idx, n = btf.array_info(tid)
        return declare(btf, elem, f"{inner}[{n}]", _depth + 1)
    if kind == FUNC_PROTO:
        params, varargs = btf.params(tid)
        spelled = [declare(btf, t, "", _depth + 1) for _n, t in params]
        if varargs:
            spelled.append("...")
        return declare(btf, btf.ref(tid), f"{inner}({', '.join(spelled) or 'void'})", _depth + 1)
    return _join(f"<{btf.kind_name(tid)}>", inner)


def _join(base: str, inner: str) -> str:
    if not inner:
        return base
    if inner.startswith("["):
        return base + inner
    return f"{base} {inner}"
