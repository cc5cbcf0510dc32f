"""The dump_page() text format, in both directions' one place: what the kernel prints.

mm/debug.c __dump_folio() (v6.12 .. v7.1) prints, in this order:
  page: refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx
  head: order:%u mapcount:%d entire_mapcount:%d nr_pages_mapped:%d pincount:%d   (large folios)
  memcg:%lx                                                                      (charged)
  [anon |ksm ]flags: %pGp          (lib/vsprintf.c format_page_flags: names, then
                                    section=/node=/zone=/lastcpupid=/kasantag=, '|'-separated, hex where
                                    the kernel uses %#x)
  page_type: %x(%s)                (v6.12+: the type byte and its name; before v6.12
                                    "page_type: %pGt", the whole word: 0xffffff7f(buddy))
  raw: / head: four longs per line (print_hex_dump of the struct page words)
The decoder reads this text (decode/parse.py) and checks it against the words;
`simulate` prints it for emulator pages. Both go through `kernel_lines()` so the
format has one definition; the values come from the decode of the words
(decode/decoder.py `Decoded.expected`), so the printer and the reader cannot drift.
"""

from __future__ import annotations

from collections.abc import Sequence

from mmbits.kconfig.config import Config


def word_lines(prefix: str, words: Sequence[int], bits: int) -> list[str]:
    """`raw: ` / `head: ` lines, four words each, zero-padded to the word size."""
    width = bits // 4
    return [f"{prefix}: " + " ".join(f"{w & ((1 << bits) - 1):0{width}x}" for w in words[i:i + 4])
            for i in range(0, len(words), 4)]


def kernel_lines(expected: dict[str, object], pfn: int | None = None) -> list[str]:
    """The summary lines dump_page prints for a page whose decode expects `expected`."""
    exp = expected
    if "refcount" not in exp:
        return []
    mapping = exp.get("mapping")
    lines = [f"page: refcount:{exp['refcount']} mapcount:{exp['mapcount']} "
             f"mapping:{mapping if mapping is not None else '(swap cache)'} index:{int(str(exp['index'])):#x}"
             + (f" pfn:{pfn:#x}" if pfn is not None else "")]
    head = exp.get("head")
    if isinstance(head, dict) and head:
        lines.append("head: " + " ".join(f"{k}:{v}" for k, v in head.items()))
    if exp.get("memcg"):
        lines.append(f"memcg:{int(str(exp['memcg'])):x}")
    prefix = f"{exp['flags_prefix']} " if exp.get("flags_prefix") else ""
    lines.append(f"{prefix}flags: {exp['flags']}")
    if exp.get("page_type"):
        lines.append(f"page_type: {exp['page_type']}")
    return lines


def format_dump(words: Sequence[int], config: Config, *, little: bool | None = None, pfn: int | None = None,
                head_words: Sequence[int] = (), reason: str | None = None,
                version: tuple[int, int] | None = None) -> str:
    """dump_page() of a struct page holding `words` (and its folio's `head_words`), as the
    kernel modelled by `config` (and `version`, when older than the model) prints it."""
    from mmbits.decode.context import KernelContext
    from mmbits.decode.decoder import decode_record
    from mmbits.decode.parse import DumpRecord, WordLine

    bits = config.bits
    width = bits // 4
    record = DumpRecord(start=1, end=1, raw=[WordLine(0, list(words), width)],
                        head=[WordLine(0, list(head_words), width)] if head_words else [])
    big = (not little) if little is not None else None
    (dec,) = decode_record(record, 1, config=config, bits=bits, big=big,
                           context=KernelContext(version=version))
    lines = kernel_lines(dec.expected, pfn)
    lines += word_lines("raw", words, bits)
    lines += word_lines("head", head_words, bits)
    if reason:
        lines.append(f"page dumped because: {reason}")
    return "\n".join(lines) + "\n"
