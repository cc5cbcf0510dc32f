"""Hostile input shapes (issue #16) and a bounded subprocess runner, shared by the
tests/test_hostile_*.py tests and bench/bench_hostile.py.

Each shape is built from a few bytes of structure (aliases, repetition) so the
files stay tiny in the repository while standing for huge documents."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOUND_SECONDS = 10.0
BOUND_BYTES = 512 * 1024 * 1024


def proposal_alias_bomb(levels: int = 9, fanout: int = 9) -> bytes:
    """A valid proposal whose `doc:` is fanout**levels strings through nested aliases
    (issue #16: 479 bytes, 9**9, `check` past 60 s and 2.4 GB)."""
    lines = ["proposal: PTDESC_TYPE_KERNEL", "expr: BIT(0)", "word: ptdesc.__page_type",
             "kind: kernel-pgtable", 'a0: &a0 ["lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * fanout) + "]")
    lines.append("doc: [" + ",".join([f"*a{levels - 1}"] * fanout) + "]")
    return ("\n".join(lines) + "\n").encode()


def layout_alias_bomb(levels: int = 7, fanout: int = 6) -> bytes:
    """A struct ptdesc layout whose members are `levels` nested aliased unions, each
    `fanout` copies of the one before (issue #16: 598 bytes, 60 s and 1.7 GB in
    show/overlay/decode)."""
    lines = ["struct: ptdesc", "kernel: v6.18", "members:", "  - pt_flags: memdesc_flags_t",
             "  - union: &u0", "      - x0: unsigned long", "      - y0: unsigned long"]
    for i in range(1, levels):
        lines.append(f"  - union: &u{i}")
        lines.extend(f"      - union: *u{i - 1}" for _ in range(fanout))
    return ("\n".join(lines) + "\n").encode()


def big_log(path: Path, megabytes: int = 50) -> Path:
    """A kernel log of `megabytes` MB: one real dump_page() report amid ordinary dmesg lines
    (issue #16: decode of a 50 MB log took 53 s and 2.4 GB)."""
    report = (ROOT / "tests" / "data" / "dumps" / "deepin-896-arm64-6.6-swapcache-hwpoison.txt").read_text()
    noise = "[12345.678901] e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx\n"
    half = (megabytes << 20) // len(noise) // 2
    with open(path, "w") as fh:
        fh.write(noise * half)
        fh.write(report)
        fh.write(noise * half)
    return path


# eight bodies a patch author might give a bit: flags of every kind, the gap, packed fields
MACRO_BODIES = ("BIT(NR_PAGEFLAGS)", "BIT(PG_owner_priv_1)", "(1UL << 3)", "BIT(PG_head)",
                "(1UL << (NR_PAGEFLAGS + 1))", "BIT(PG_arch_1)", "0x100", "BIT(PG_reserved)")
MACRO_WORDS = ("ptdesc->pt_flags.f", "folio->flags.f", "page->flags.f")


def many_macros(count: int = 1000, bodies: tuple[str, ...] = MACRO_BODIES) -> bytes:
    """A patch adding `count` #defines over a few distinct bodies, each used once on a
    descriptor word (issue #16: 1,000 defines, 8 bodies, ~95 KB, past 60 s)."""
    lines = []
    for i in range(count):
        name = f"MMBITS_HOSTILE_FLAG_{i:04d}"
        lines.append(f"+#define {name}\t{bodies[i % len(bodies)]}")
        lines.append(f"+\t{MACRO_WORDS[i % len(MACRO_WORDS)]} |= {name};")
    head = (f"--- a/mm/hostile.c\n+++ b/mm/hostile.c\n@@ -1,1 +1,{len(lines) + 1} @@ "
            "void f(struct ptdesc *ptdesc, struct folio *folio, struct page *page)\n x\n")
    return (head + "\n".join(lines) + "\n").encode()


def long_identifier(n: int) -> str:
    return "a" * n


@dataclass
class Bounded:
    code: int
    out: bytes
    err: bytes
    seconds: float
    peak_bytes: int
    cpu_seconds: float = 0.0  # user + system of mmbits and the launcher: wall time without the machine's load

    @property
    def err_lines(self) -> list[str]:
        return [ln for ln in self.err.decode("utf-8", "replace").splitlines() if ln.strip()]


# The launcher runs mmbits as its own child and writes that child's rusage to a file.
# A process forked from a big pytest worker inherits the worker's RSS in ru_maxrss
# (Linux keeps the old mm's high-water mark across fork and exec); a child of the
# small launcher starts from the launcher's few MB, so its peak is mmbits' own.
_LAUNCH = (
    "import os, resource, sys\n"
    "m, report = int(sys.argv[1]), sys.argv[2]\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    resource.setrlimit(resource.RLIMIT_AS, (m, m))\n"
    "    os.execv(sys.executable, [sys.executable, '-m', 'mmbits', *sys.argv[3:]])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "with open(report, 'w') as fh:\n"
    "    fh.write(str(usage.ru_maxrss))\n"
    "code = os.waitstatus_to_exitcode(status)\n"
    "if code < 0:\n"
    "    os.kill(os.getpid(), -code)\n"
    "sys.exit(code)\n"
)


def run_bounded(args: list[str], *, stdin: bytes | int | None = None, env: dict[str, str] | None = None,
                timeout: float = BOUND_SECONDS * 3, memory: int = BOUND_BYTES, cwd: str | None = None,
                stdout: int | None = None) -> Bounded:
    """Run `python -m mmbits ARGS` under an address-space limit; its time and its own peak
    RSS (wait4 of that child). A run past `timeout` is killed (code -9)."""
    import tempfile

    full_env = dict(os.environ)
    full_env.pop("MMBITS_DEBUG", None)
    if env:
        full_env.update(env)
    with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
        if isinstance(stdin, bytes):
            fin.write(stdin)
            fin.seek(0)
        start = time.perf_counter()
        # No preexec_fn: that forces fork(), and on Linux a forked child's ru_maxrss starts at
        # the parent's RSS (a pytest worker grown to 700 MB would count against mmbits). A
        # small launcher started with vfork sets the limit and execs mmbits instead.
        report = tempfile.NamedTemporaryFile(delete=False)  # noqa: SIM115 - read after the run
        report.close()
        proc = subprocess.Popen([sys.executable, "-c", _LAUNCH, str(memory), report.name, *args],
                                stdin=fin if isinstance(stdin, bytes) else stdin,
                                stdout=fout if stdout is None else stdout, stderr=ferr, env=full_env, cwd=cwd,
                                start_new_session=True)
        status, usage = _wait(proc.pid, start + timeout)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        fout.seek(0)
        ferr.seek(0)
        try:
            with open(report.name) as fh:
                peak_kb = int(fh.read() or usage.ru_maxrss)
        except (OSError, ValueError):
            peak_kb = usage.ru_maxrss  # the launcher was killed at the deadline
        finally:
            os.unlink(report.name)
        return Bounded(proc.returncode, fout.read(), ferr.read(), seconds, peak_kb * 1024,
                       usage.ru_utime + usage.ru_stime)


def _wait(pid: int, deadline: float) -> tuple[int, resource.struct_rusage]:
    while True:
        got, status, usage = os.wait4(pid, os.WNOHANG)
        if got:
            return status, usage
        if time.perf_counter() > deadline:
            os.killpg(pid, 9)  # the launcher and mmbits under it
            _, status, usage = os.wait4(pid, 0)
            return status, usage
        time.sleep(0.01)


def assert_bounded_error(r: Bounded, name: str, *, code: int = 2, words: tuple[str, ...] = ()) -> None:
    """Issue #16's contract: in time, in memory, exactly one error line naming `name`,
    the exit code, nothing on stdout."""
    assert r.cpu_seconds <= BOUND_SECONDS, (r.cpu_seconds, r.seconds, r.err[-300:])  # CPU: not the load
    assert r.code == code, (r.code, r.err[-500:])
    lines = r.err_lines
    assert len(lines) == 1, lines[:5]
    assert name in lines[0], lines[0]
    assert "Traceback" not in lines[0] and "internal error" not in lines[0], lines[0]
    assert len(lines[0]) < 600, len(lines[0])
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert r.out == b"", r.out[:200]
