"""construct structures compiled from a resolved Layout.

The emulator's hot path reads and writes words with `Field` (struct module);
construct is the independent second implementation used for round-trip
checks, so the two must give identical bytes. Union arms overlap, so every
word is a `Pointer` to its absolute offset; the struct starts with zeroed
padding so building writes a full image. Bitfields sharing a storage unit are
one `BitStruct`, byte-swapped on little-endian because BitStruct is MSB-first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import construct as cs

if TYPE_CHECKING:
    from mmbits.layout.model import Field, Layout


def _int(field: Field) -> Any:
    return cs.BytesInteger(field.size, signed=field.signed, swapped=field.little)


def build_construct(layout: Layout) -> cs.Construct:
    plain: list[Any] = []
    units: dict[tuple[int, int], list[Field]] = {}
    for name, f in layout.words.items():
        if f.bit_size is None:
            plain.append(cs.Renamed(cs.Pointer(f.offset, _int(f)), newname=name))
        else:
            units.setdefault((f.offset, f.size), []).append(f)
    bit_units = []
    for (offset, size), fields in units.items():
        # bitfields of different union arms can share a storage unit: split them
        # into non-overlapping sets, one BitStruct each; only the first is built
        # (the others are views of the same bits, parsed only)
        for k, group in enumerate(_disjoint(fields)):
            unit = _bit_unit(group, size)
            names = [f.name for f in _unit_order(group)]
            adapted = cs.Pointer(offset, cs.ExprAdapter(
                unit,
                decoder=lambda obj, ctx, names=names: {n: obj[f"b{i}"] for i, n in enumerate(names)},
                encoder=lambda obj, ctx, names=names: {f"b{i}": obj[n] for i, n in enumerate(names)},
            ))
            if k:
                adapted = cs.If(cs.this._parsing, adapted)
            bit_units.append(cs.Renamed(adapted, newname=f"@unit{offset}_{k}"))
    return cs.Struct(cs.Padding(layout.size), *plain, *bit_units)


def _disjoint(fields: list[Field]) -> list[list[Field]]:
    groups: list[list[Field]] = []
    for f in sorted(fields, key=lambda f: f.bit_offset or 0):
        for g in groups:
            if all((f.bit_offset or 0) >= (o.bit_offset or 0) + (o.bit_size or 0)
                   or (o.bit_offset or 0) >= (f.bit_offset or 0) + (f.bit_size or 0) for o in g):
                g.append(f)
                break
        else:
            groups.append([f])
    return groups


def _unit_order(fields: list[Field]) -> list[Field]:
    """Fields in BitStruct (MSB-first) order. Little-endian GCC allocates the
    first bitfield at the LSB, big-endian at the MSB."""
    if fields[0].little:
        return sorted(fields, key=lambda f: -(f.bit_offset or 0))
    return sorted(fields, key=lambda f: f.bit_offset or 0)


def _bit_unit(fields: list[Field], size: int) -> Any:
    order = _unit_order(fields)
    subs: list[Any] = []
    pos = 0  # bits consumed from the MSB
    for i, f in enumerate(order):
        assert f.bit_offset is not None and f.bit_size is not None
        msb_pos = size * 8 - f.bit_offset - f.bit_size if f.little else f.bit_offset
        if msb_pos > pos:
            subs.append(cs.Padding(msb_pos - pos))
        subs.append(f"b{i}" / cs.BitsInteger(f.bit_size))
        pos = msb_pos + f.bit_size
    if pos < size * 8:
        subs.append(cs.Padding(size * 8 - pos))
    bits = cs.BitStruct(*subs)
    return cs.ByteSwapped(bits) if order[0].little else bits


def construct_decode(layout: Layout, data: bytes) -> dict[str, int]:
    parsed = build_construct(layout).parse(data)
    out: dict[str, int] = {}
    for key, value in parsed.items():
        if key == "_io":
            continue
        if key.startswith("@unit"):
            if value is not None:
                out.update(value)
        else:
            out[key] = value
    return out


def construct_encode(layout: Layout, values: dict[str, int]) -> bytes:
    """Build bytes with construct; words not given are taken as 0 (fields written in layout order)."""
    con = build_construct(layout)
    obj: dict[str, Any] = {}
    units: dict[tuple[int, int], list[Field]] = {}
    for name, f in layout.words.items():
        v = int(values.get(name, 0))
        if f.bit_size is None:
            obj[name] = _wrap(v, f)
        else:
            units.setdefault((f.offset, f.size), []).append(f)
    for (offset, _size), fields in units.items():
        for k, group in enumerate(_disjoint(fields)):
            obj[f"@unit{offset}_{k}"] = {f.name: int(values.get(f.name, 0)) & ((1 << (f.bit_size or 0)) - 1)
                                         for f in group}
    built: bytes = con.build(obj)
    return built


def _wrap(value: int, f: Field) -> int:
    bits = f.size * 8
    value &= (1 << bits) - 1
    if f.signed and value >> (bits - 1):
        value -= 1 << bits
    return value
