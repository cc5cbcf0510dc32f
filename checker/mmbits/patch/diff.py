"""Unified diffs as they come from mail: git format-patch output, plain diffs,
mboxes holding a series, CRLF line ends (quoted-printable already decoded).

The parser keeps what a checker needs to point at a line the way checkpatch
does: each added line with its number in the new file and in the patch text.
A hunk whose line counts do not match its body (a truncated paste, a hand-edited
hunk) is read as far as it goes and recorded as malformed, the way checkpatch
scans what is there; the input is refused only when no hunk line can be read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mmbits.errors import InputError

_FROM = re.compile(r"^From \S+ .*\d\d:\d\d:\d\d")  # mbox From_ line (format-patch writes one per patch)
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_MAX_BYTES = 64 * 1024 * 1024


@dataclass
class Line:
    kind: str  # "+" added, "-" removed, " " context
    text: str
    new_no: int | None  # line number in the new file (added and context lines)
    patch_line: int  # 1-based line number in the input


@dataclass
class Hunk:
    header: str
    func: str  # what git prints after @@: the enclosing function / enum / struct line
    new_start: int
    lines: list[Line] = field(default_factory=list)


@dataclass
class FileDiff:
    old_path: str | None
    new_path: str | None
    patch_line: int
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or "?"


@dataclass(frozen=True)
class Malformed:
    """A hunk whose body is shorter or longer than its header says."""

    file: str
    patch_line: int  # the @@ header's line in the input
    header: str
    message: str


@dataclass
class Patch:
    index: int
    subject: str
    start_line: int
    end_line: int
    files: list[FileDiff] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)

    @property
    def lines_checked(self) -> int:
        return self.end_line - self.start_line + 1

    def added(self) -> list[tuple[FileDiff, Hunk, Line]]:
        return [(f, h, ln) for f in self.files for h in f.hunks for ln in h.lines if ln.kind == "+"]


def decode(data: bytes | str, source: str = "-") -> str:
    """Mail bodies are UTF-8 or Latin-1; line ends CRLF, LF or CR."""
    if isinstance(data, bytes):
        if len(data) > _MAX_BYTES:
            raise InputError(f"patch is larger than {_MAX_BYTES // (1024 * 1024)} MiB", file=source)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    else:
        text = data
    if "\x00" in text:
        raise InputError("not a text patch (NUL bytes)", file=source)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _path(text: str) -> str | None:
    text = text.split("\t", 1)[0].strip()
    if text == "/dev/null":
        return None
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    for prefix in ("a/", "b/"):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def parse(data: bytes | str, source: str = "-") -> list[Patch]:
    """Every patch in the input (an mbox gives one per message)."""
    lines = decode(data, source).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    starts = [i for i, ln in enumerate(lines) if _FROM.match(ln)]
    if not starts or starts[0] != 0:
        starts = [0, *starts]
    patches: list[Patch] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        patch = _parse_message(lines, start, end, source, len(patches) + 1)
        if patch is not None:
            patches.append(patch)
    if not patches:
        raise InputError("no unified diff found (expected '--- a/FILE', '+++ b/FILE' and '@@' hunks)", file=source)
    bad = [m for p in patches for m in p.malformed]
    if bad and not any(h.lines for p in patches for f in p.files for h in f.hunks):
        raise InputError(bad[0].message, file=source, line=bad[0].patch_line)
    return patches


def _subject(lines: list[str], start: int, end: int) -> str:
    for i in range(start, end):
        if lines[i] == "" and i > start:
            break  # end of the mail headers
        if lines[i].lower().startswith("subject:"):
            subject = lines[i][8:].strip()
            j = i + 1
            while j < end and lines[j][:1] in (" ", "\t") and lines[j].strip():
                subject += " " + lines[j].strip()
                j += 1
            return subject
    return ""


def _parse_message(lines: list[str], start: int, end: int, source: str, index: int) -> Patch | None:
    patch = Patch(index, _subject(lines, start, end), start + 1, end)
    i = start
    current: FileDiff | None = None
    while i < end:
        ln = lines[i]
        if ln.startswith("--- ") and i + 1 < end and lines[i + 1].startswith("+++ "):
            current = FileDiff(_path(ln[4:]), _path(lines[i + 1][4:]), i + 1)
            patch.files.append(current)
            i += 2
            continue
        m = _HUNK.match(ln)
        if m:
            if current is None:
                raise InputError("hunk before any '--- a/FILE' / '+++ b/FILE' header", file=source, line=i + 1)
            i = _parse_hunk(lines, i, end, m, current, patch)
            continue
        if ln.startswith("+++ ") and (i == start or not lines[i - 1].startswith("--- ")):
            raise InputError("'+++' file header without a '---' line before it", file=source, line=i + 1)
        i += 1
    return patch if patch.files else None


def _parse_hunk(lines: list[str], i: int, end: int, m: re.Match[str], fd: FileDiff, patch: Patch) -> int:
    old_left = int(m.group(2)) if m.group(2) is not None else 1
    new_left = int(m.group(4)) if m.group(4) is not None else 1
    new_no = int(m.group(3))
    hunk = Hunk(lines[i], m.group(5).strip(), new_no)
    fd.hunks.append(hunk)
    header_line = i + 1
    i += 1
    while (old_left > 0 or new_left > 0) and i < end:
        ln = lines[i]
        tag = ln[:1]
        if ln.startswith("\\"):  # "\ No newline at end of file"
            i += 1
            continue
        if tag == "+" and new_left > 0:
            hunk.lines.append(Line("+", ln[1:], new_no, i + 1))
            new_no += 1
            new_left -= 1
        elif tag == "-" and old_left > 0:
            hunk.lines.append(Line("-", ln[1:], None, i + 1))
            old_left -= 1
        elif (tag == " " or ln == "") and old_left > 0 and new_left > 0:
            # mailers strip the space of an empty context line
            hunk.lines.append(Line(" ", ln[1:], new_no, i + 1))
            new_no += 1
            old_left -= 1
            new_left -= 1
        else:
            break
        i += 1
    head = lines[header_line - 1].split(" @@")[0] + " @@"
    if old_left > 0 or new_left > 0:
        patch.malformed.append(Malformed(fd.path, header_line, lines[header_line - 1],
                                         f"malformed hunk {head} in {fd.path}: {old_left} old and {new_left} new "
                                         f"lines missing (scanned the {len(hunk.lines)} that are there)"))
        return i
    # more body than the header counts: keep reading added/removed lines as checkpatch would
    extra = 0
    while i < end and _body_line(lines[i]):
        ln = lines[i]
        if ln.startswith("+"):
            hunk.lines.append(Line("+", ln[1:], new_no, i + 1))
            new_no += 1
        else:
            hunk.lines.append(Line("-", ln[1:], None, i + 1))
        extra += 1
        i += 1
    if extra:
        patch.malformed.append(Malformed(fd.path, header_line, lines[header_line - 1],
                                         f"malformed hunk {head} in {fd.path}: {extra} line(s) more than the header "
                                         f"counts (scanned them too)"))
    while i < end and lines[i].startswith("\\"):
        i += 1
    return i


def _body_line(ln: str) -> bool:
    """An added or removed line past a hunk's count (never a file header or a mail signature)."""
    if ln.startswith("+"):
        return not ln.startswith("+++ ")
    return ln.startswith("-") and not ln.startswith("--- ") and ln.rstrip() != "--"
