"""What the lines around a dump say about the kernel: its release and its architecture.

The `CPU: … Not tainted 6.12.0-rc7-syzkaller` line (lib/dump_stack.c
dump_stack_print_info(), printed by every dump_stack()) gives the release,
`Hardware name:` and the arch's register dump give the architecture. A
report's dump_page() block sits next to these lines, before them (Bad page
state, VM_BUG_ON) or after them (KASAN's "The buggy address belongs to the
physical page"), so the nearest such line between the neighbouring dumps
is the one that belongs to it. Every inference keeps the line it came from.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from functools import lru_cache

from mmbits.byvalue import ByValue
from mmbits.decode.data import load_dump_data
from mmbits.decode.reading import Line
from mmbits.errors import InputError


@lru_cache(maxsize=1)
def _release_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The `[Not t|T]ainted <release>` and `Linux version <release>` patterns, compiled when
    a line is first read for its release (a decode given the release reads none: compiling
    them at import was ~1% of its one-report run)."""
    return (re.compile(r"(?:Not tainted|Tainted:[A-Z\s]*?)\s+\(?(\d+)\.(\d+)(?:\.(\d+))?([-+][^\s)]*)?"),
            re.compile(r"^Linux version (\d+)\.(\d+)(?:\.(\d+))?(\S*)"))


class Evidence(ByValue):
    """One inferred fact and the input line that says it."""

    fact: str  # "version" | "arch"
    value: str
    line: int
    text: str

    _SHOWN = ("fact", "value", "line", "text")

    def __init__(self, fact: str, value: str, line: int, text: str) -> None:
        self.fact = fact
        self.value = value
        self.line = line
        self.text = text

    def _fields(self) -> tuple[object, ...]:
        return (self.fact, self.value, self.line, self.text)

    def describe(self) -> str:
        if self.line == 0:
            return f"{self.fact} {self.value} given ({self.text})"
        return f"{self.fact} {self.value} from line {self.line}: {self.text[:100]}"


class KernelContext(ByValue):
    """The release (MAJOR, MINOR) and architecture a dump's neighbours name, with their lines."""

    version: tuple[int, int] | None = None
    release: str | None = None
    arch: str | None = None
    evidence: tuple[Evidence, ...] = ()

    _SHOWN = ("version", "release", "arch", "evidence")

    def __init__(self, version: tuple[int, int] | None = None, release: str | None = None,
                 arch: str | None = None, evidence: tuple[Evidence, ...] = ()) -> None:
        self.version = version
        self.release = release
        self.arch = arch
        self.evidence = evidence

    def _fields(self) -> tuple[object, ...]:
        return (self.version, self.release, self.arch, self.evidence)

    @property
    def version_text(self) -> str | None:
        return None if self.version is None else f"{self.version[0]}.{self.version[1]}"


def _is_next(suffix: str) -> bool:
    """A linux-next release suffix (-rc6-next-20230817, -next)."""
    return "-next-" in suffix or suffix.endswith("-next")


@lru_cache(maxsize=4096)
def release_of(text: str) -> tuple[tuple[int, int], str] | None:
    """((major, minor), full release) from a `CPU: … [Not t|T]ainted <release>` or `Linux version` line."""
    tainted, linux_version = _release_patterns()
    m = tainted.search(text) or linux_version.match(text)
    if not m:
        return None
    major, minor = int(m.group(1)), int(m.group(2))
    if not (2 <= major <= 9 and minor < 100):
        return None
    full = f"{major}.{minor}" + (f".{m.group(3)}" if m.group(3) else "") + (m.group(4) or "")
    if _is_next(m.group(4) or ""):
        # linux-next (6.5.0-rc6-next-20230817) carries the next merge window's code: its
        # struct page and flags are the next release's (real fixtures: 6.5-rc6-next has
        # 6.6's PG_head at bit 6, 6.11-rc5-next 6.12's PG_owner_2)
        return (major, minor + 1), f"{full} (linux-next: read as {major}.{minor + 1})"
    return (major, minor), full


# the first characters of the lines that can name a release or an arch (CPU:, Linux
# version, Hardware name:, RIP:/EIP:, pc :/PC is at, epc :, NIP:, Krnl PSW, IAOQ,
# Modules linked in:, REGS: ... Not tainted): everything else is skipped unread
_FIRST_CHARS = frozenset("CLHREpPeNKIMr")


@lru_cache(maxsize=8192)
def arch_of(text: str, bits: int | None) -> str | None:
    """The architecture a log line names (its family sized by `bits`), if it names one."""
    if not any(head in text for head in _hint_heads()):
        return None  # every hint's match holds its literal head (the page:, raw: ... lines go here)
    data = load_dump_data()
    for hint in data.arch_hints:
        if not hint.pattern.search(text):
            continue
        if hint.arch:
            return hint.arch
        if hint.family and bits is not None and data.arch_families:
            return data.arch_families.get(hint.family, {}).get(bits)
    return None


@lru_cache(maxsize=1)
def _hint_heads() -> tuple[str, ...]:
    """The literal text each arch hint's matches hold (_literal_head)."""
    return tuple(dict.fromkeys(_literal_head(h.text) for h in load_dump_data().arch_hints))


@lru_cache(maxsize=1)
def context_needles() -> tuple[str, ...]:
    """A substring of every line context_for() can take a release or an arch from: "ainted"
    and "Linux version", and each arch hint's leading literal text (decode/scan.py drops the
    lines with none of them unread)."""
    out = ["ainted", "Linux version"]
    for hint in load_dump_data().arch_hints:
        out.append(_literal_head(hint.text))
    return tuple(n for n in dict.fromkeys(out) if not any(o != n and o in n for o in out))


def _literal_head(pattern: str) -> str:
    """The literal text a regular expression's every match starts with (after `^`); the
    whole pattern is refused (an error in the data) when it has none."""
    text = pattern.removeprefix("^")
    out: list[str] = []
    for ch in text:
        if ch in "\\[](){}.*+?|^$":
            if ch in "?*{" and out:
                out.pop()  # the character before an optional quantifier is not certain
            break
        out.append(ch)
    if not out:
        raise ValueError(f"dump_page.yaml arch_hints: {pattern!r} starts with no literal text")
    return "".join(out)


def context_for(lines: list[Line], lo: int, hi: int, start: int, end: int,
                bits: int | None) -> KernelContext:
    """The context of the dump on input lines start..end, from lines lo..hi (its neighbourhood)."""
    # (distance, line number, text, value) of the nearest line giving each fact; the Evidence
    # (a frozen dataclass, slow to build) made once, for the line kept
    best_version: tuple[int, int, str, tuple[tuple[int, int], str]] | None = None
    best_arch: tuple[int, int, str, str] | None = None
    # SourceLines are (number, text) tuples: (n,) sorts before every line numbered n, so the
    # bisections compare in C (no key function called per step)
    first = bisect_left(lines, (lo,))
    last = bisect_left(lines, (hi + 1,))
    for number, text in lines[first:last]:
        if not text or text[0] not in _FIRST_CHARS:
            continue
        distance = start - number if number < start else max(0, number - end)
        if "ainted" in text or text.startswith("Linux version"):
            rel = release_of(text)
            if rel is not None and (best_version is None or distance < best_version[0]):
                best_version = (distance, number, text, rel)
        arch = arch_of(text, bits)
        if arch is not None and (best_arch is None or distance < best_arch[0]):
            best_arch = (distance, number, text, arch)
    if best_version is None and best_arch is None:
        return _NOTHING
    evidence: list[Evidence] = []
    if best_version is not None:
        evidence.append(Evidence("version", best_version[3][1], best_version[1], best_version[2]))
    if best_arch is not None:
        evidence.append(Evidence("arch", best_arch[3], best_arch[1], best_arch[2]))
    return KernelContext(version=best_version[3][0] if best_version else None,
                         release=best_version[3][1] if best_version else None,
                         arch=best_arch[3] if best_arch else None, evidence=tuple(evidence))


# what a report whose neighbourhood names nothing gets (one object: it is immutable)
_NOTHING = KernelContext()


# the word sizes a report is read at (decode/api.py: --bits, or the raw words' width, or none)
_BITS = (None, 32, 64)


@lru_cache(maxsize=8192)
def _kinds(text: str) -> tuple[bool, ...]:
    """Which facts a kept line gives context_for(): a release, an arch at each of _BITS."""
    release = ("ainted" in text or text.startswith("Linux version")) and release_of(text) is not None
    return (release, *(arch_of(text, bits) is not None for bits in _BITS))


@lru_cache(maxsize=1)
def _needles() -> re.Pattern[str]:
    """One search for every context needle: a line without one names neither a release nor an arch."""
    return re.compile("|".join(map(re.escape, context_needles())))


class ContextWindow:
    """The lines that can name a release or an arch, kept while a log streams past.

    Only a line holding one of context_needles() is kept (a line without one gives
    context_for() nothing). The reports' starts (`started`, told by the parser) cut the
    kept lines into stretches: the stretch from a report's start to the next one holds
    the report and what follows it, and context_for() takes from a stretch only the
    first line giving each fact (nearest to the report it starts with) or the last
    (nearest to the next report). So when the current stretch grows past 2 * `keep`
    lines it is cut down to those lines, and a long stretch of unrelated log costs no
    memory and changes no answer."""

    def __init__(self, keep: int = 128) -> None:
        self.keep = keep
        self._lines: list[Line] = []
        self.last = 0  # the number of the last line passed through
        self._mark = 0  # where the current stretch starts: the latest report's first line

    def feed(self, lines: Iterable[Line]) -> Iterator[Line]:
        """Pass the lines through, keeping the candidates."""
        limit, buf, relevant = 2 * self.keep, self._lines, _needles().search
        for src in lines:
            self.last = src[0]
            text = src[1]
            if text and text[0] in _FIRST_CHARS and relevant(text):
                buf.append(src)
                if len(buf) > limit:
                    self._compact()
            yield src

    def started(self, line: int) -> None:
        """A report starts at `line` (decode/parse.py records_with_next `on_start`)."""
        self._mark = line

    def _compact(self) -> None:
        """Cut the current stretch down to the first and the last line giving each fact."""
        buf = self._lines
        base = bisect_left(buf, (self._mark,))
        if len(buf) - base <= 2 * self.keep:
            return
        stretch = buf[base:]
        keep: set[int] = set()
        for fact in range(1 + len(_BITS)):
            giving = [i for i, src in enumerate(stretch) if _kinds(src[1])[fact]]
            if giving:
                keep.update((giving[0], giving[-1]))
        buf[base:] = [src for i, src in enumerate(stretch) if i in keep]

    def context(self, lo: int, hi: int, start: int, end: int, bits: int | None) -> KernelContext:
        """context_for() over the kept lines."""
        return context_for(self._lines, lo, hi, start, end, bits)

    def drop_through(self, line: int) -> None:
        """Forget the lines up to `line` (the end of a decoded report: no later report looks back past it)."""
        buf = self._lines
        cut = bisect_left(buf, (line + 1,))  # the lines numbered up to `line` (see context_for)
        if cut:
            del buf[:cut]


@lru_cache(maxsize=1)
def known_archs() -> frozenset[str]:
    """Every architecture name the hints, the families and the model use."""
    from mmbits.kconfig.model import load_model

    data = load_dump_data()
    names = set(load_model().archs) | set(data.big_endian_archs) | {"um"}
    names |= {h.arch for h in data.arch_hints if h.arch}
    for members in (data.arch_families or {}).values():
        names |= set(members.values())
    return frozenset(names)


def given_context(kernel: str | None, arch: str | None) -> KernelContext | None:
    """What the user said (`--kernel 6.12 --arch arm64`), as context with its source."""
    if kernel is None and arch is None:
        return None
    version = None
    if kernel is not None:
        m = re.fullmatch(r"(\d+)\.(\d+)(?:\.\d+)?(?:[-+]\S*)?", kernel.strip())
        if not m:
            raise InputError(f"--kernel {kernel!r}: give a release like 6.12 or 6.12.0-rc7")
        version = (int(m.group(1)), int(m.group(2)))
        if _is_next(kernel.strip()):  # linux-next: the next release's code (release_of)
            version = (version[0], version[1] + 1)
    if arch is not None and arch not in known_archs():
        raise InputError(f"--arch {arch!r}: not an architecture mmbits knows; known: {', '.join(sorted(known_archs()))}")
    evidence = tuple(Evidence(fact, value, 0, f"--{opt} {value}") for fact, opt, value in
                     (("version", "kernel", kernel), ("arch", "arch", arch)) if value is not None)
    return KernelContext(version=version, release=kernel, arch=arch, evidence=evidence)


def merge(found: KernelContext, given: KernelContext | None) -> KernelContext:
    """The log's context with what the user gave put over it."""
    if given is None:
        return found
    keep = tuple(e for e in found.evidence
                 if not (e.fact == "version" and given.version is not None)
                 and not (e.fact == "arch" and given.arch is not None))
    return KernelContext(version=given.version or found.version, release=given.release or found.release,
                         arch=given.arch or found.arch, evidence=keep + given.evidence)
