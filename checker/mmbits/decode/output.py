"""The JSON of one decoded page (the edge: everything before is typed).
"""

from __future__ import annotations

from typing import Any

from mmbits.decode.data import DumpData, load_dump_data
from mmbits.decode.kernelfmt import (
    dump_mapcount,
    folio_order,
    format_pgp,
    page_type_text,
    pgp_parts,
    pointer_text,
    s32,
    tail_head_text,
)
from mmbits.decode.model import Decoded
from mmbits.decode.parse import DumpRecord


def to_json(dec: Decoded) -> dict[str, Any]:
    data = load_dump_data()
    rec = dec.record
    page = dec.page
    out: dict[str, Any] = {
        "input_lines": [rec.start, rec.end],
        "bits": dec.bits,
        "endian": "little" if dec.little else "big",
        "config": dec.choice.to_json(),
        "inferred": [{"fact": e.fact, "value": e.value, "line": e.line, "text": e.text}
                     for e in dec.context.evidence]
        + ([{"fact": "packing", "value": dec.choice.how, "line": rec.flags_line,
             "text": f"flags: {rec.flags_value:#x}({rec.flags_text})"}]
           if dec.choice.how in ("solved", "preset") and rec.flags_line else [])
        + ([{"fact": "endian", "value": "little" if dec.little else "big", "line": 0, "text": dec.endian_why}]
           if dec.endian_why and dec.endian_why != "given" else []),
        "struct": dec.struct,
        "words": [f"{w:0{dec.bits // 4}x}" for w in dec.words],
    }
    if page is None:
        out.update({"kind": None, "refcount": None, "mapcount": None, "mapping": None, "index": None,
                    "page_type": None, "flags": None, "head": None, "findings": [f.to_json() for f in dec.findings],
                    "kernel": _printed_json(rec)})
        if rec.poisoned_line:
            out["poisoned"] = True
        return out
    exp = dec.expected
    vals = page.values
    flags = vals.get("flags", 0)
    names, fields = pgp_parts(flags, dec.word, data)
    fjson: dict[str, Any] = {n: v for n, v, _t in fields}
    for extra in ("lru_gen", "lru_refs"):
        pf = dec.word.field(extra)
        if pf is not None:
            fjson[extra] = (flags >> pf.lsb) & ((1 << pf.width) - 1)
    zone = dec.word.field("zone")
    if zone is not None:
        z = (flags >> zone.lsb) & ((1 << zone.width) - 1)
        fjson["zone_name"] = dec.word.zones[z] if z < len(dec.word.zones) else None
    out.update({
        "kind": dec.kind,
        "kind_reason": dec.kind_why,
        "descriptor": dec.descriptor,
        "refcount": exp.get("refcount", s32(vals.get("_refcount", 0))),
        "mapcount": exp.get("mapcount"),
        "mapping": exp.get("mapping", pointer_text(vals.get("mapping", 0), dec.bits)),
        "index": hex(exp.get("index", vals.get("__folio_index", vals.get("index", 0)))),
        "page_type": exp.get("page_type") if "page_type" in exp else page_type_text(vals.get("page_type", 0), data),
        "flags": {"hex": f"{flags:#x}", "names": names, "fields": fjson,
                  "aliases": _aliases(dec, flags), "text": format_pgp(flags, dec.word, data)},
        "fields": [s.to_json() for s in page.slots],
        "tagged_pointers": _tags_json(dec, data),
        "overlay": None if dec.overlay is None else {
            "struct": dec.overlay.layout.struct, "fields": [s.to_json() for s in dec.overlay.slots]},
        "head": _head_json(dec, data),
        "kernel": _printed_json(rec),
        "agreement": [c.to_json() for c in dec.checks],
        "findings": [f.to_json() for f in dec.findings],
    })
    if dec.depends:
        out["depends_on_config"] = dec.depends
    if dec.releases is not None:
        out["releases"] = dec.releases.to_json()
    return out


def _tags_json(dec: Decoded, data: DumpData) -> dict[str, Any]:
    """The tagged words split: compound_head bit 0, mapping and memcg_data low bits."""
    assert dec.page is not None
    vals, bits = dec.page.values, dec.bits
    out: dict[str, Any] = {}
    for word in ("compound_head", "compound_info"):  # compound_info from 7.1
        if word in vals:
            ch = vals[word]
            out[word] = {"tail": bool(ch & 1), "head": tail_head_text(ch, bits) if ch & 1 else None}
    if "mapping" in vals and not dec.is_tail:
        m = vals["mapping"]
        tag = m & data.mapping_mask
        out["mapping"] = {"tag": data.mapping_tags.get(tag) if tag else None,
                          "pointer": pointer_text(m & ~data.mapping_mask, bits)}
    if "memcg_data" in vals and not dec.is_tail:
        v = vals["memcg_data"]
        out["memcg_data"] = {"flags": [n for b, n in sorted(data.memcg_bits.items()) if v >> b & 1],
                             "pointer": pointer_text(v & ~data.memcg_mask, bits)}
    return out


def _aliases(dec: Decoded, flags: int) -> dict[str, list[str]]:
    """Set flags -> the alias names valid for this page's kind and position."""
    position = "second" if dec.kind == "second" else "any" if dec.is_tail else "head"
    out: dict[str, list[str]] = {}
    for f in dec.word.flags:
        if not flags >> f.bit & 1:
            continue
        valid = [a.name for a in f.aliases
                 if (dec.kind in a.kinds or "any" in a.kinds) and (a.page in (position, "any"))]
        out[f.name] = valid
    return out


def _head_json(dec: Decoded, data: DumpData) -> dict[str, Any] | None:
    if dec.head is None:
        return None
    hv = dec.head.values
    flags = hv.get("flags", 0)
    out: dict[str, Any] = {
        "words": [f"{w:0{dec.bits // 4}x}" for w in dec.record.head_words()],
        "kind": dec.head_kind,
        "refcount": s32(hv.get("_refcount", 0)),
        "mapcount": dump_mapcount(hv.get("_mapcount", 0xFFFFFFFF)),
        "mapping": pointer_text(hv.get("mapping", 0), dec.bits),
        "index": hex(hv.get("__folio_index", hv.get("index", 0))),
        "page_type": page_type_text(hv.get("page_type", 0xFFFFFFFF), data),
        "flags": {"hex": f"{flags:#x}", "names": pgp_parts(flags, dec.word, data)[0],
                  "text": format_pgp(flags, dec.word, data)},
        "folio": {k: (s32(v) if k.startswith(("_large", "_entire", "_pincount", "_nr_pages_mapped")) else v)
                  for k, v in dec.folio.items()
                  if not k.startswith(("page.", "__page_")) and k in (
                      "_flags_1", "_head_1", "_large_mapcount", "_nr_pages_mapped", "_entire_mapcount", "_pincount",
                      "_mm_ids", "_mapcount_1", "_refcount_1", "_nr_pages")},
    }
    if "_flags_1" in dec.folio:
        out["order"] = folio_order(dec.folio)
    return out


def _printed_json(rec: DumpRecord) -> dict[str, Any] | None:
    if rec.page is None and rec.flags_value is None and rec.page_type_name is None:
        return None
    out: dict[str, Any] = {}
    if rec.page is not None:
        out["page"] = {k: (hex(v) if k in ("index", "pfn") and isinstance(v, int) else v) for k, v in rec.page.items()}
    if rec.flags_value is not None:
        out["flags"] = f"{rec.flags_prefix + ' ' if rec.flags_prefix else ''}{rec.flags_value:#x}({rec.flags_text})"
    if rec.page_type_name is not None:
        out["page_type"] = (f"{rec.page_type_byte:x}({rec.page_type_name})" if rec.page_type_byte is not None
                            else f"{rec.page_type_full:#x}({rec.page_type_name})")
    if rec.memcg is not None:
        out["memcg"] = f"{rec.memcg:x}"
    if rec.head_info is not None:
        out["head"] = rec.head_info
    if rec.reason:
        out["reason"] = rec.reason
    if rec.notes:
        out["notes"] = rec.notes
    return out
