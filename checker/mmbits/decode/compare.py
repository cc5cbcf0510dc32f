"""What dump_page() should have printed for the words (mm/debug.c, through the same
rules dumpfmt prints with) and, line by line, whether the kernel's own lines agree.
A disagreement is the model's skew (version, config), never the kernel's: a note.
"""

from __future__ import annotations

from typing import Any

from mmbits.decode.classify import _flag_set
from mmbits.decode.data import DumpData
from mmbits.decode.kernelfmt import (
    dump_mapcount,
    folio_order,
    format_pgp,
    has_folio_order,
    looks_hashed,
    page_type_has_type,
    page_type_text,
    pgp_parts,
    pointer_text,
    s32,
)
from mmbits.decode.model import Check, Decoded
from mmbits.decode.words import _label
from mmbits.findings import Finding
from mmbits.flags.data import load_flag_data


def _expected(dec: Decoded, data: DumpData) -> None:
    page = dec.page
    if page is None:
        return
    bits, word = dec.bits, dec.word
    # dump_page prints the folio's values; after "page does not match folio" it
    # treats the page itself as an order-0 folio
    folio = dec.head if dec.head is not None else (page if not dec.is_tail or dec.record.not_faithful else None)
    exp: dict[str, Any] = {"mapcount": dump_mapcount(page.values.get("_mapcount", 0xFFFFFFFF))}
    since, version = data.typed_mapcount_zero_since, dec.context.version
    if dec.record.page_type_full is not None and dec.record.page_type_name and since and version \
            and version >= since:
        exp["mapcount"] = 0  # the old type encoding, printed by a kernel whose page_mapcount() gives 0
    if folio is not None:
        fv = folio.values
        flags = fv.get("flags", 0)
        exp["refcount"] = s32(fv.get("_refcount", 0))
        mapping = fv.get("mapping", 0)
        typed_slab = (fv.get("page_type", 0xFFFFFFFF) >> 24) == next(
            (t.value for t in load_flag_data().page_types if t.name == "PGTY_slab"), -1) and page_type_has_type(
            fv.get("page_type", 0xFFFFFFFF))
        if typed_slab:
            exp["mapping"] = pointer_text(0, bits)
        elif _flag_set(word, flags, "PG_swapcache") and _flag_set(word, flags, "PG_swapbacked"):
            exp["mapping"] = None  # swap_address_space(folio->swap): not in the dump
        elif mapping & data.mapping_mask:
            exp["mapping"] = pointer_text(0, bits)
        else:
            exp["mapping"] = pointer_text(mapping, bits)
        exp["index"] = fv.get("__folio_index", fv.get("index", 0))
        exp["flags"] = format_pgp(flags, word, data)
        tag = mapping & data.mapping_mask
        exp["flags_prefix"] = "ksm" if tag == 0x3 else "anon" if tag & 0x1 else ""
        exp["page_type"] = page_type_text(fv.get("page_type", 0xFFFFFFFF), data)
        old_types, version = data.old_page_types, dec.context.version
        if old_types is not None and version is not None and version < old_types.until:
            pt = fv.get("page_type", 0xFFFFFFFF)
            if old_types.names(pt):
                exp["page_type"] = f"{pt:#x}({'|'.join(old_types.names(pt))})"  # %pGt, the whole word
        memcg = fv.get("memcg_data")
        exp["memcg"] = memcg if memcg else None
        # the head fields need the folio's page 1 in the dump (v6.3 printed only the head page)
        if dec.folio and (dec.head is not None) and _flag_set(word, flags, "PG_head") \
                and has_folio_order(dec.folio):
            order = folio_order(dec.folio)
            info = {"order": order}
            if "_large_mapcount" in dec.folio:
                info["mapcount"] = s32(dec.folio["_large_mapcount"]) + 1
            if "_entire_mapcount" in dec.folio:
                info["entire_mapcount"] = s32(dec.folio["_entire_mapcount"]) + 1
            if "_nr_pages_mapped" in dec.folio:
                info["nr_pages_mapped"] = dec.folio["_nr_pages_mapped"] & (data.entirely_mapped - 1)
            if "_pincount" in dec.folio and (bits == 64 or order > 1):
                info["pincount"] = s32(dec.folio["_pincount"])
            exp["head"] = info
    dec.expected = exp


def _compare(dec: Decoded, data: DumpData) -> None:
    rec, exp, bits = dec.record, dec.expected, dec.bits
    checks = dec.checks
    label = _label(dec.config)
    if dec.page is None:
        return
    no_folio = "a tail page without head: lines: the kernel printed the folio head's value, not in the dump"
    if rec.page is not None:
        p = rec.page
        for item in ("refcount", "mapcount"):
            if item not in p:
                continue
            if item not in exp:
                checks.append(Check(item, None, str(p[item]), "unchecked", no_folio))
            else:
                checks.append(Check(item, str(exp[item]), str(p[item]),
                                    "agrees" if exp[item] == p[item] else "disagrees"))
        if "mapping" in p:
            printed = str(p["mapping"])
            if "mapping" not in exp:
                checks.append(Check("mapping", None, printed, "unchecked", no_folio))
            elif exp["mapping"] is None:
                checks.append(Check("mapping", None, printed, "unchecked",
                                    "a swap-cache folio: the kernel prints swap_address_space(folio->swap)"))
            elif printed == exp["mapping"] or (printed == "(null)" and int(exp["mapping"], 16) == 0):
                checks.append(Check("mapping", exp["mapping"], printed, "agrees"))
            elif looks_hashed(printed, int(exp["mapping"], 16), bits):
                checks.append(Check("mapping", exp["mapping"], printed, "unchecked",
                                    "%p printed a hashed pointer (boot with no_hash_pointers to compare)"))
            else:
                checks.append(Check("mapping", exp["mapping"], printed, "disagrees"))
        if "index" in p:
            printed_i = int(str(p["index"]))
            if "index" not in exp:
                checks.append(Check("index", None, hex(printed_i), "unchecked", no_folio))
            elif dec.is_tail and not rec.not_faithful:
                idx = printed_i - exp["index"]
                nr = 1 << (exp.get("head", {}).get("order", 0))
                ok = 0 < idx < nr or "head" not in exp
                checks.append(Check("index", hex(exp["index"]) + f" + page {idx}", hex(printed_i),
                                    "agrees" if ok else "disagrees",
                                    f"a tail page: folio index {exp['index']:#x} + its page number {idx}"))
            else:
                checks.append(Check("index", hex(exp["index"]), hex(printed_i),
                                    "agrees" if exp["index"] == printed_i else "disagrees"))
    if rec.flags_value is not None:
        printed = f"{rec.flags_value:#x}({rec.flags_text})"
        if "flags" not in exp:
            checks.append(Check("flags", None, printed, "unchecked", no_folio))
        else:
            ours = exp["flags"]
            same = ours.replace(" ", "") == printed.replace(" ", "")
            checks.append(Check("flags", ours, printed, "agrees" if same else "disagrees"))
            if not same:
                _flag_skew(dec, rec.flags_value, rec.flags_text or "", data)
            if rec.flags_prefix != exp.get("flags_prefix", ""):
                checks.append(Check("flags prefix", exp.get("flags_prefix") or "(none)", rec.flags_prefix or "(none)",
                                    "disagrees"))
    if "page_type" in exp:
        printed_pt = None
        if rec.page_type_byte is not None:
            printed_pt = f"{rec.page_type_byte:x}({rec.page_type_name})"
        ours = exp["page_type"]
        if rec.page_type_full is not None:
            # older kernels (before 6.12) printed the whole word: "page_type: 0xffffffff(...)"
            head = dec.head or dec.page
            full = head.values.get("page_type", 0xFFFFFFFF)
            checks.append(Check("page_type", f"{full:#x}", f"{rec.page_type_full:#x}({rec.page_type_name})",
                                "agrees" if full == rec.page_type_full else "disagrees",
                                "older dump_page format: the whole word"))
        elif rec.page is not None:
            if ours == printed_pt:
                checks.append(Check("page_type", ours, printed_pt, "agrees"))
            elif ours and printed_pt and ours.split("(")[0] == printed_pt.split("(")[0]:
                checks.append(Check("page_type", ours, printed_pt, "agrees",
                                    "same type byte; the name table differs between kernel versions"))
            else:
                checks.append(Check("page_type", ours, printed_pt, "disagrees",
                                    "" if printed_pt else "the kernel printed no page_type: line"))
    if rec.page is not None and "memcg" in exp and dec.config.on("MEMCG"):
        ours_m = f"{exp['memcg']:x}" if exp["memcg"] else None
        printed_m = f"{rec.memcg:x}" if rec.memcg is not None else None
        checks.append(Check("memcg", ours_m, printed_m, "agrees" if ours_m == printed_m else "disagrees"))
    if rec.head_info is not None and "head" in exp:
        for key, value in rec.head_info.items():
            if key in exp["head"]:
                checks.append(Check(f"head {key}", str(exp["head"][key]), str(value),
                                    "agrees" if exp["head"][key] == value else "disagrees"))
    # dump_page() prints from the same snapshot its raw: lines show (a memcpy of the
    # page, mm/debug.c since v5.19), so where our reading of the words differs from
    # its lines, our model of that kernel (version, config) is what is wrong: a note
    for c in checks:
        if c.status == "disagrees" and c.item != "flags":
            dec.findings.append(Finding("version-skew",
                                        f"the kernel printed {c.item} {c.printed}; mmbits' model ({label}) reads "
                                        f"{c.ours} from the raw words" + (f" ({c.why})" if c.why else "")
                                        + ": the model does not match that kernel here", label,
                                        f"dump_page.{c.item}", "note"))


def _flag_skew(dec: Decoded, value: int, printed_text: str, data: DumpData) -> None:
    """Say why our %pGp differs from the kernel's: flag names (enum) or fields (packing)."""
    label = _label(dec.config)
    ours_names, ours_fields = pgp_parts(value, dec.word, data)
    tokens = [t for t in printed_text.split("|") if t]
    printed_fields = {t.split("=", 1)[0]: t.split("=", 1)[1] for t in tokens if "=" in t}
    printed_names = [t for t in tokens if "=" not in t]
    msgs = []
    if printed_names != ours_names:
        main = value & ((1 << dec.word.nr_pageflags) - 1)
        bit_names = []
        for b in range(dec.word.nr_pageflags):
            if main >> b & 1:
                bit_names.append(f"bit {b} = {dec.word.owner(b).removeprefix('PG_')}")
        msgs.append(f"the kernel named the flags {'|'.join(printed_names) or '(none)'}, v6.18's enum pageflags for "
                    f"{label} gives {'|'.join(ours_names) or '(none)'} ({', '.join(bit_names) or 'no flag bits'})")
        dec.findings.append(Finding(
            "version-skew",
            msgs[-1] + ": the dump comes from a kernel whose enum pageflags differs from v6.18 (bit numbers after "
            "PG_dropbehind move with the config; older kernels had PG_error, PG_slab ...)",
            label, "page.flags", "note", {"kernel": printed_names, "decoded": ours_names}))
    ours_f = {n: t for n, _v, t in ours_fields}
    if ours_f != printed_fields:
        dec.findings.append(Finding(
            "config-mismatch",
            f"the kernel's flags fields are {'|'.join(f'{k}={v}' for k, v in printed_fields.items()) or '(none)'}, "
            f"the packing of {label} gives {'|'.join(f'{k}={v}' for k, v in ours_f.items()) or '(none)'}: the "
            f"config's page->flags packing is not the kernel's (give --config, or let mmbits infer it)",
            label, "page.flags", "note", {"kernel": printed_fields, "decoded": ours_f}))
