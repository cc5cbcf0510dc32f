"""When no line names the kernel release: which of the model's releases fit the kernel's
own lines, and where they read the words differently.

A report without its `CPU: ... tainted` line (an excerpt, a pasted dump) is decoded
with the model's newest release; enum pageflags, the page_type values and the struct
page member names moved between releases, so the page is also decoded as each
release the model has. The releases whose decode disagrees least with the kernel's
own lines (the flag names, the page_type line, the counts) fit; the fields they
all read alike stand as printed, the rest are listed per release as alternatives
(a note beside the decode, never a finding: nothing is wrong with the page).
"""

from __future__ import annotations

from collections.abc import Callable

from mmbits.decode.context import KernelContext
from mmbits.decode.model import Decoded, FieldReading, ReleaseAlternatives
from mmbits.errors import InputError


def release_alternatives(releases: tuple[int, ...], chosen: int,
                         decode_as: Callable[[KernelContext], Decoded]) -> ReleaseAlternatives | None:
    """The releases (VERSION codes, oldest first) that fit the kernel's lines as well as
    any does, and the fields they read differently; None when fewer than two fit.
    `decode_as(context)` decodes the page as the release the context names."""
    decoded: dict[int, Decoded] = {}
    for code in releases:
        try:
            decoded[code] = decode_as(KernelContext(version=(code // 1000, code % 1000)))
        except InputError:
            continue  # no config of that release has this struct page
    if not decoded:
        return None
    misses = {code: sum(c.status == "disagrees" for c in dec.checks) for code, dec in decoded.items()}
    best = min(misses.values())
    fitting = tuple(code for code in decoded if misses[code] == best)
    if len(fitting) < 2:
        return None
    readings = {code: _readings(decoded[code]) for code in fitting}
    differing = []
    for key in dict.fromkeys(k for code in fitting for k in readings[code]):
        differing.extend(_differing(key, {code: readings[code].get(key) for code in fitting}))
    return ReleaseAlternatives(fitting, chosen, tuple(differing), best)


def _differing(key: str, per: dict[int, tuple[tuple[str, ...], str] | None]) -> list[FieldReading]:
    """The field `key` if the releases read it differently: the union names every release
    gives it are said once, each release's other names (and meaning, where they differ)
    are its reading."""
    present = [v for v in per.values() if v is not None]
    whole = len(present) == len(per)  # every release has the field
    common = [n for n in present[0][0] if all(n in v[0] for v in present)] if present and whole else []
    meanings = {v[1] for v in present}
    groups: dict[str, list[int]] = {}
    for code, v in per.items():
        if v is None:
            text = "(not in this release's struct)"
        else:
            text = " = ".join(n for n in v[0] if n not in common) or "(no other name)"
            if len(meanings) > 1:
                text += f" -> {v[1] or '(no meaning)'}"
        groups.setdefault(text, []).append(code)
    if len(groups) < 2:
        return []
    label = key + (f" ({' = '.join(common)} in every release)" if common else "")
    return [FieldReading(label, tuple((text, tuple(codes)) for text, codes in groups.items()))]


def _readings(dec: Decoded) -> dict[str, tuple[tuple[str, ...], str]]:
    """What the decode says, field by field: the page kind and each word of struct page
    (its union names and their meaning)."""
    out: dict[str, tuple[tuple[str, ...], str]] = {"kind": ((), dec.kind)}
    if dec.page is not None:
        for sl in dec.page.slots:
            where = (f"offset {sl.offset}, {sl.size} bytes" if sl.bit_size is None
                     else f"offset {sl.offset} bits {sl.bit_offset}+{sl.bit_size}")
            out[where] = (tuple(sl.names), sl.meaning)
    return out
