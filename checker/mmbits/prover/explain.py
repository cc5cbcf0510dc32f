"""What the proposed bits are on one config, for the text output of a check."""

from __future__ import annotations

from collections.abc import Iterable

from mmbits.flags.data import load_flag_data
from mmbits.flags.packing import compute
from mmbits.kconfig.config import Config
from mmbits.prover.analyse import Prover
from mmbits.prover.expr import Value
from mmbits.prover.hits import bits_of
from mmbits.prover.site import Site


def explain(prover: Prover, config: Config, ev: Value, site: Site, relevant: Iterable[str] = ()) -> list[str]:
    """One line per proposed bit: what it is on this config (the first config of the proof)."""
    if ev.value is None or not site.exists:
        return []
    lines = []
    value = ev.value & ((1 << site.bits) - 1) if site.bits else ev.value
    head = f"{prover.ask_base.label} = {value:#x}"
    if site.page_index:
        head += f" (struct page {site.page_index} of the folio)"
    lines.append(head + f" on {config.name or config.describe(set(relevant) or prover.site_syms)}:")
    word = compute(config, extra_flags=len(prover.xp.new_flags)) if site.role == "flags" else None
    for b in bits_of(value)[:16]:
        ab = site.anchor_bit(b)
        if site.role == "flags" and word is not None and ab is not None:
            owner = word.owner(ab)
            if owner == "gap" and word.gap:
                owner = f"gap (page.flags bits {word.gap[0]}-{word.gap[1]}, above NR_PAGEFLAGS)"
            if ab < word.nr_pageflags:
                fl = word.flags[ab]
                aliases = ", ".join(a.name for a in fl.aliases)
                owner = f"{fl.name}" + (f" (aliases {aliases})" if aliases else "") + \
                    f", used on {', '.join(fl.kinds) or 'no kind'}"
            lines.append(f"  bit {b}: {owner}")
        elif site.role == "page_type" and ab is not None:
            shift = load_flag_data().page_type_shift
            lines.append(f"  bit {b}: {'type byte' if ab >= shift else 'owner bits of a typed page'}")
        elif site.anchor is not None and ab is not None:
            lines.append(f"  bit {b}: page.{site.anchor} bit {ab}")
        else:
            lines.append(f"  bit {b}: {site.role} word {site.struct}.{site.word}")
    return lines
