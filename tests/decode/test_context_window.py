"""decode/context.py's window over a streamed log: each report's release and arch come from
its nearest lines however long the stretches of other log between the reports are (the
window once kept the first and last 128 candidate lines and could drop a report's nearest
release line when more than 256 sat between reports)."""

from __future__ import annotations

import random

import pytest

from decode.dumps import DUMPS
from mmbits.decode.api import decode_text
from mmbits.decode.context import ContextWindow, KernelContext, context_for
from mmbits.decode.parse import records_with_next
from mmbits.decode.reading import SourceLine, source_lines

# a real report (x86_64 6.13-rc1, KASAN on a buddy page; source in real/INDEX.md): its
# dump_page() lines, `page:` through `page dumped because:`
REAL = DUMPS / "real" / "x86_64-6.13rc1-kasan-buddy-order10-no-page-owner.txt"
# dump_stack_print_info()'s line (lib/dump_stack.c) as the real report prints it, at two releases
CPU_613 = "CPU: 0 UID: 0 PID: 5410 Comm: syz-executor307 Not tainted 6.13.0-rc1-syzkaller-00036-g5076001689e4 #0"
CPU_61 = "CPU: 1 PID: 8 Comm: kworker/u4:0 Tainted: G        W          6.1.129-syzkaller-00017-g642656a36791 #0"
HARDWARE = "Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.3-debian-1.16.3-2~bpo12+1 04/01/2014"
# a register line of arm64's __show_regs() (arch/arm64/kernel/process.c) and of x86's
ARM64_PC = "pc : __list_del_entry_valid+0x40/0xc8"
X86_RIP = "RIP: 0010:folio_unlock+0x43/0x50"


def _dump() -> list[str]:
    lines = REAL.read_text().splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.startswith("page:"))
    last = next(i for i, ln in enumerate(lines) if ln.startswith("page dumped because:"))
    return lines[first:last + 1]


def test_the_nearest_release_line_survives_300_lines_naming_another() -> None:
    dump = _dump()
    d = len(dump)
    lines = dump + [CPU_61] * 300 + [CPU_613] + dump + ["unrelated"] * 3 + [CPU_61] * 300 + dump
    pages = decode_text("\n".join(lines) + "\n")
    assert [p.context.version for p in pages] == [(6, 1), (6, 13), (6, 1)]
    version = next(e for e in pages[1].context.evidence if e.fact == "version")
    assert version.line == d + 301  # the CPU: line right before the second dump


def _contexts(lines: list[SourceLine], keep: int) -> list[KernelContext]:
    """Each report's context as decode/api.py decode_stream finds it, with a window of `keep`."""
    window = ContextWindow(keep)
    out = []
    last_end = 0
    for record, next_start in records_with_next(window.feed(lines), "<log>", window.started):
        hi = next_start - 1 if next_start is not None else window.last
        bits = 64 if record.width == 16 else 32 if record.width == 8 else None
        out.append(window.context(last_end + 1, hi, record.start, record.end, bits))
        last_end = record.end
        window.drop_through(last_end)
    return out


def _everything(lines: list[SourceLine]) -> list[KernelContext]:
    """Each report's context from every line of the log (context_for over all of them)."""
    records = [(record, next_start) for record, next_start in records_with_next(lines, "<log>")]
    out = []
    last_end = 0
    for record, next_start in records:
        hi = next_start - 1 if next_start is not None else lines[-1].number
        bits = 64 if record.width == 16 else 32 if record.width == 8 else None
        out.append(context_for(lines, last_end + 1, hi, record.start, record.end, bits))
        last_end = record.end
    return out


@pytest.mark.parametrize("seed", range(12))
def test_a_small_window_finds_what_every_line_says(seed: int) -> None:
    rng = random.Random(seed)
    pool = [CPU_613, CPU_61, HARDWARE, ARM64_PC, X86_RIP, "unrelated", "Call Trace:", ""]
    text: list[str] = []
    for _ in range(rng.randint(2, 6)):
        text += [rng.choice(pool) for _ in range(rng.randint(0, 40))] + _dump()
    text += [rng.choice(pool) for _ in range(rng.randint(0, 40))]
    lines = source_lines("\n".join(text) + "\n")
    assert _contexts(lines, keep=2) == _everything(lines)


def test_arch_hints_compile_when_first_read() -> None:
    """dump_page.yaml's arch hints are kept as text and compiled on first use (a decode
    given its arch never reads them); compiled, each is its text's pattern and still names
    its arch."""
    from mmbits.decode.context import arch_of
    from mmbits.decode.data import ArchHint, load_dump_data

    hint = ArchHint("^RIP: [0-9a-f]{4}:", "x86_64", None)
    assert "pattern" not in vars(hint)  # not compiled yet
    assert hint.pattern.pattern == hint.text and hint.pattern.search("RIP: 0010:foo")
    assert hint == ArchHint("^RIP: [0-9a-f]{4}:", "x86_64", None)
    assert all(isinstance(h.text, str) for h in load_dump_data().arch_hints)
    assert arch_of("RIP: 0010:__list_del_entry_valid+0xa6/0x130", 64) == "x86_64"
