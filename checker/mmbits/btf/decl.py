"""pahole's exact text for a member declaration, from the BTF type graph.

The model carries clean C spellings (cnames.py); pahole 1.24 prints some
types with its own spacing (`const struct vm_operations_struct  * vm_ops`,
`char * *`), function pointers as `void (*func)(struct callback_head *)`
with the return type padded, and a `const` member as `const ` plus the rest
padded 6 columns less. This module is a port of dwarves_fprintf.c's
__tag__name / tag__ptr_name / type__fprintf / ftype__fprintf for the kinds
BTF has, used as the printer's `decl` hook so `mmbits btf show` prints
what `pahole -F btf -C` prints.
"""

from __future__ import annotations

from mmbits.btf.reader import MAX_HOPS, Btf
from mmbits.btf.wire import (
    ARRAY,
    CONST,
    ENUMS,
    FUNC_PROTO,
    KEYWORDED,
    PTR,
    QUALIFIERS,
    RESTRICT,
    SELF_NAMED,
    TAGS,
    VAR,
)
from mmbits.errors import InputError


def _loop(btf: Btf, tid: int) -> InputError:
    return btf.deep_or_loop(tid, "printing")


def tag_name(btf: Btf, tid: int, depth: int = 0) -> str:
    """__tag__name(): a type's name as pahole spells it inside other names."""
    if depth > MAX_HOPS:
        raise _loop(btf, tid)
    if tid == 0:
        return "void"
    kind = btf.kind(tid)
    if kind in SELF_NAMED:
        return btf.name(tid)
    if kind == PTR:
        target = btf.skip(btf.ref(tid), TAGS)
        if target == 0:
            return "void *"
        const_pointer = ""
        if btf.kind(target) == CONST and btf.kind(btf.ref(target)) == PTR:
            const_pointer = "const "
            target = btf.ref(target)
        return f"{tag_name(btf, target, depth + 1)} {const_pointer}*"
    if kind in QUALIFIERS:  # pahole writes `restrict` after the type, the others before it
        prefix = f"{QUALIFIERS[kind]} " if kind != RESTRICT else ""
        suffix = " restrict" if kind == RESTRICT else ""
        return f"{prefix}{tag_name(btf, btf.ref(tid), depth + 1)}{suffix} "
    if kind == ARRAY:
        return tag_name(btf, btf.array_info(tid)[0], depth + 1)
    if kind in TAGS or kind == VAR:
        return tag_name(btf, btf.ref(tid), depth + 1)
    if kind == FUNC_PROTO:
        return ftype(btf, tid, None, pointer=False, spacing=0, depth=depth + 1)
    if kind in KEYWORDED:
        return f"{btf.keyword(tid)} {btf.name(tid)}"
    return f"<{btf.kind_name(tid)}>"


def ftype(btf: Btf, proto: int, name: str | None, pointer: bool, spacing: int, depth: int = 0) -> str:
    """ftype__fprintf(): `ret (*name)(params)`, the return type padded to `spacing`."""
    ret = tag_name(btf, btf.ref(proto), depth + 1)
    head = f"{ret:<{spacing}} ({'*' if pointer else ''}{name or ''})"
    return head + params(btf, proto, depth + 1)


def params(btf: Btf, proto: int, depth: int = 0) -> str:
    plist, varargs = btf.params(proto)
    parts = []
    for pname, ptid in plist:
        if btf.kind(ptid) == PTR:
            target = btf.skip(btf.ref(ptid), TAGS)
            if target and btf.kind(target) == FUNC_PROTO:
                parts.append(ftype(btf, target, pname or None, pointer=True, spacing=0, depth=depth + 1))
                continue
        stype = tag_name(btf, ptid, depth + 1)
        parts.append(f"{stype} {pname}" if pname else stype)
    if not parts:
        return "(void)"
    return "(" + ", ".join(parts) + (", ...)" if varargs else ")")


def inline_enum(btf: Btf, tid: int, name: str, spacing: int, hex_: bool) -> str:
    """enumeration__fprintf() of an anonymous enum member, indented for its nesting level."""
    indent = (26 - spacing) // 8 + 1
    values = btf.enum_values(tid)
    width = max((len(n) for n, _ in values), default=0)
    body = "".join(f"{chr(9) * (indent + 1)}{n:<{width}} = {(f'{v:#x}' if v else '0') if hex_ else v},\n"
                   for n, v in values)
    return f"enum {{\n{body}{chr(9) * indent}}}" + (f" {name}" if name else "")


def member_text(btf: Btf, tid: int, name: str, spacing: int, flex_ok: bool, depth: int = 0,
                hex_: bool = False) -> str:
    """type__fprintf(type, name): the member's type and name, before `:bits;`."""
    if depth > MAX_HOPS:
        raise _loop(btf, tid)
    if tid == 0:
        return f"{'void':<{abs(spacing)}} {name}"
    kind = btf.kind(tid)
    if kind in TAGS:
        return member_text(btf, btf.ref(tid), name, spacing, flex_ok, depth + 1, hex_)
    if kind in ENUMS and not btf.name(tid):
        return inline_enum(btf, tid, name, spacing, hex_)
    if kind in KEYWORDED:
        kw = btf.keyword(tid)
        return f"{kw} {btf.name(tid):<{abs(spacing - len(kw) - 1)}} {name}"
    if kind == PTR:
        target = btf.skip(btf.ref(tid), TAGS)
        if target and btf.kind(target) == FUNC_PROTO:
            return ftype(btf, target, name, pointer=True, spacing=spacing, depth=depth + 1)
    if kind == FUNC_PROTO:
        return ftype(btf, tid, name, pointer=False, spacing=spacing, depth=depth + 1)
    if kind == CONST:
        nxt = btf.ref(tid)
        if nxt:
            return "const " + member_text(btf, nxt, name, spacing - 6, flex_ok, depth + 1, hex_)
    if kind == ARRAY:
        elem, _idx, n = btf.array_info(tid)
        if n == 0 and btf.kind(elem) == CONST:
            elem = btf.ref(elem)
        inner = member_text(btf, elem, name, spacing, flex_ok, depth + 1, hex_)
        return inner + ("[]" if n == 0 and flex_ok else f"[{n}]")
    return f"{tag_name(btf, tid, depth + 1):<{abs(spacing)}} {name}"
