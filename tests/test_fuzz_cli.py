"""Fuzz the parsers through the real command line (in-process, `mmbits.cli.common.run`).

Every user-supplied file (a .config, a proposal, a patch, a dump, a layout YAML, a BTF
blob, a --replay schedule) is fed mutated: bytes flipped, the file cut short, CRLF line
ends, NUL and non-UTF-8 bytes, values after `=`/`:` replaced by hostile ones, lines
duplicated or dropped, or plain garbage. The contract (README "Commands"): exit 0, 1 or 2;
on exit 2 exactly one stderr line naming the file and nothing on stdout; never a traceback
or an "internal error"; a failed --report/--out run leaves no file behind.

The seeds are the real inputs in tests/data/, tests/patch/data/ and layouts/. The `ci`
profile runs a few dozen examples per test (a few seconds in all); run long with

    pytest --hypothesis-profile=fuzz tests/test_fuzz_cli.py

The presets/domains/kinds data files cannot be given on the command line (only the whole
layouts/ tree can be swapped, with $MMBITS_LAYOUTS, a packaging hook): they are shipped
data, not user input, and are not fuzzed here.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import os
import re
import struct
import tempfile
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from btf.btfgen import elf_with_section, sample
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from conftest import DATA, OLD_CONFIG, REF_CONFIG
from util.clirun import CliResult, run_cli

ROOT = Path(__file__).resolve().parent.parent
PRESET = "x86_64-6.18"


def _seeds(*paths: Path) -> list[bytes]:
    return [p.read_bytes() for p in paths]


CONFIGS = _seeds(REF_CONFIG, OLD_CONFIG)
PROPOSALS = _seeds(*sorted((DATA / "proposals").glob("*.yaml")))
PATCHES = _seeds(*sorted(p for p in (ROOT / "tests" / "patch" / "data").iterdir() if p.is_file()))
DUMPS = _seeds(*sorted((DATA / "dumps").glob("*.txt")))
LAYOUTS = _seeds(*(ROOT / "layouts" / "kernel" / f"{n}.yaml" for n in ("ptdesc", "page", "slab", "folio")))
BTF_SAMPLE = sample().blob()
BTF_SEEDS = [BTF_SAMPLE, elf_with_section(BTF_SAMPLE)]

# what a hostile or careless edit puts after `=` / `:` / at a random place
TOKENS = [b"", b"0", b"-1", b"08", b"0x", b"99999999999999999999999", b"1 << 40000000000", b"y", b"m", b"n",
          b'"', b"'", b"[", b"{", b"}", b"&a", b"*a", b"!!python/object:os.system", b"~", b"null", b"\t",
          b"BIT(", b"BIT(NR_PAGEFLAGS)", b"PG_referenced", b"page.flags", b"((((((((((", b"\xff\xfe",
          b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\x00", b"\r", b"\n", b"\\x", b"@@ -1 +1 @@", b"--- a/x",
          b"+++ b/x", b"raw: ", b"ffffffffffffffff", b"# CONFIG_MEMCG is not set", b"CONFIG_", b"- ", b": "]
_VALUE = re.compile(rb"(?<==)|(?<=: )")


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with one to four edits, or (rarely) bytes from nowhere."""
    if draw(st.integers(0, 15)) == 0:
        return draw(st.binary(max_size=300))
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "crlf", "insert", "value", "delete", "dup-line", "nul"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            data[min(at, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[at:]
        elif op == "crlf":
            data = bytearray(bytes(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        elif op == "insert":
            data[at:at] = draw(st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=8)))
        elif op == "nul":
            data[at:at] = b"\x00"
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "dup-line":
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            line = bytes(data[start:end + 1 if end >= 0 else len(data)])
            data[start:start] = line * draw(st.integers(1, 3))
        elif op == "value":
            # replace what follows one `KEY=` / `key: ` (a config value, a YAML scalar) up to the line end
            spots = [m.start() for m in _VALUE.finditer(data)]
            if spots:
                pos = spots[draw(st.integers(0, len(spots) - 1))]
                end = data.find(b"\n", pos)
                data[pos:end if end >= 0 else len(data)] = draw(st.sampled_from(TOKENS))
    return bytes(data)


@functools.cache
def _model_symbols() -> list[str]:
    """The .config names the Kconfig model reads (the ones that change a layout)."""
    from mmbits.kconfig.model import load_model

    return sorted((s.dotconfig or n) for n, s in load_model().symbols.items() if n != "ARCH" and not s.boot)


SYMBOL_VALUES = ["y", "n", "m", "0", "1", "-1", "3", "10", "64", "4096", "99999999999999999999", "0x10", '"y"',
                 "", "yes"]


@st.composite
def configs_mutated(draw: st.DrawFn) -> bytes:
    """A real .config with the symbols the model reads set to odd values or removed, then mutated."""
    data = draw(st.sampled_from(CONFIGS))
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(_model_symbols())).encode()
        line = re.compile(rb"^(CONFIG_%s=.*|# CONFIG_%s is not set)$" % (name, name), re.M)
        value = draw(st.sampled_from(SYMBOL_VALUES)).encode()
        new = b"" if draw(st.integers(0, 4)) == 0 else b"CONFIG_%s=%s" % (name, value)
        data = line.sub(lambda _m, new=new: new, data) if line.search(data) else data + new + b"\n"
    if draw(st.booleans()):
        data = draw(mutated([data]))
    return data


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mmbits-fuzz-") as d:
        yield Path(d)


def _write(d: Path, name: str, data: bytes) -> Path:
    path = d / name
    path.write_bytes(data)
    return path


def assert_contract(r: CliResult, path: Path | tuple[Path, ...], out_dir: Path | None = None) -> None:
    """Exit 0/1/2; exit 2 is one stderr line naming the file (one of them, when the problem is
    how two files disagree); nothing crashes; no partial output."""
    shown = f"exit {r.code}\n--- stdout\n{r.out[-2000:]}\n--- stderr\n{r.err[-2000:]}"
    assert "Traceback" not in r.out + r.err, shown
    assert "internal error" not in r.err, shown
    assert r.code in (0, 1, 2), shown
    if currently_in_test_context():
        event(f"exit {r.code}")  # --hypothesis-show-statistics: how deep the inputs got
    if r.code == 2:
        lines = r.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("mmbits: "), shown
        assert any(str(p) in lines[0] for p in (path if isinstance(path, tuple) else (path,))), shown
        assert r.out == "", shown
        if out_dir is not None:
            assert not [p for p in out_dir.rglob("*") if p.is_file()], f"output left behind\n{shown}"
    if out_dir is not None and out_dir.exists():
        assert not list(out_dir.rglob(".*")), f"temporary file left behind\n{shown}"


def _maybe_gzip(data: bytes, how: int) -> bytes:
    if how == 0:
        return data
    packed = gzip.compress(data, mtime=0)
    return packed if how == 1 else packed[: len(packed) // 2]


# -- .config ----------------------------------------------------------------------------

@given(st.one_of(mutated(CONFIGS), configs_mutated()), st.integers(0, 5))
def test_flags_config(data: bytes, gz: int) -> None:
    with _workdir() as d:
        path = _write(d, "fuzz.config", _maybe_gzip(data, gz if gz < 3 else 0))
        assert_contract(run_cli("flags", "--config", str(path)), path)


@given(st.one_of(mutated(CONFIGS), configs_mutated()), st.sampled_from(["page", "ptdesc", "folio"]),
       st.booleans())
def test_show_config(data: bytes, struct_name: str, as_json: bool) -> None:
    with _workdir() as d:
        path = _write(d, "fuzz.config", data)
        assert_contract(run_cli("show", struct_name, "--config", str(path), *(["--json"] if as_json else [])),
                        path)


# -- proposal files ---------------------------------------------------------------------

# The default run checks proposal files statically (`--static`): a valid mutant of the
# one-list draft costs ~6 s in the lifecycle emulator's exhaustive exploration, most of this
# test's time, and the emulator meets the same mutated proposals in test_simulate_proposal
# below (the path `check` runs them through). The slow tier runs the lifecycle here too.
@pytest.mark.parametrize("lifecycle", [
    pytest.param(False, id="static"),
    pytest.param(True, id="lifecycle", marks=pytest.mark.slow),
])
@given(mutated(PROPOSALS), st.booleans())
@example(b"expr: BIT(0)\nword: qtdesc.pt_flags\n", False)  # the prover's error did not name the file
@example(b"expr: BIT(0)\nword: ptdesc.pt_flags\n\x00", True)  # PyYAML's ReaderError: two lines
def test_check_proposal(lifecycle: bool, data: bytes, report: bool) -> None:
    with _workdir() as d:
        path = _write(d, "fuzz.yaml", data)
        out = d / "report"
        extra = (["--report", str(out)] if report else []) + ([] if lifecycle else ["--static"])
        assert_contract(run_cli("check", "--proposal", str(path), "--preset", PRESET, *extra), path,
                        out if report else None)


@given(mutated(PROPOSALS))
@example((DATA / "proposals" / "memdesc_type4.yaml").read_bytes())  # the marking's error did not name the file
def test_simulate_proposal(data: bytes) -> None:
    with _workdir() as d:
        path = _write(d, "fuzz.yaml", data)
        out = d / "report"
        r = run_cli("simulate", "--proposal", str(path), "--ops", "1", "--cpus", "1", "--explore", "sequential",
                    "--report", str(out))
        assert_contract(r, path, out)


# -- patches ----------------------------------------------------------------------------

@given(mutated(PATCHES), st.sampled_from([[], ["--terse"], ["--json"]]))
def test_patch(data: bytes, fmt: list[str]) -> None:
    with _workdir() as d:
        path = _write(d, "fuzz.patch", data)
        assert_contract(run_cli("patch", str(path), "--preset", PRESET, *fmt), path)


# -- dump_page output -------------------------------------------------------------------

@given(mutated(DUMPS), st.sampled_from([[], ["--json"], ["--preset", PRESET], ["--kind", "pgtable"]]))
@example(b"raw: 00000400\n", [])  # "no 32-bit config has a struct page of 4 bytes" did not name the file
def test_decode(data: bytes, opts: list[str]) -> None:
    with _workdir() as d:
        path = _write(d, "fuzz.txt", data)
        assert_contract(run_cli("decode", str(path), *opts), path)


# -- layout overrides (--layout FILE) ---------------------------------------------------

@given(mutated(LAYOUTS), st.sampled_from(["show", "overlay", "decode"]))
def test_layout_override(data: bytes, command: str) -> None:
    dump = DATA / "dumps" / "syzbot-f2fs-meta-page.txt"
    with _workdir() as d:
        path = _write(d, "fuzz.yaml", data)
        struct_name = re.search(rb"^struct: *(\w+)", data, re.M)
        if command == "show":
            args = ["show", struct_name.group(1).decode() if struct_name else "ptdesc"]
        elif command == "overlay":
            args = ["overlay", "--all"]
        else:
            args = ["decode", str(dump), "--preset", PRESET]
        # decode: a struct page the layout made smaller or larger than the dump's raw: lines is
        # reported against the dump (FILE:LINE), which is as good
        assert_contract(run_cli(*args, "--layout", str(path)), (path, dump) if command == "decode" else path)


# -- BTF --------------------------------------------------------------------------------

def _btf_mutated() -> st.SearchStrategy[bytes]:
    """Byte mutations, and BTF-shaped ones: interesting words written over the header and types."""

    @st.composite
    def words(draw: st.DrawFn) -> bytes:
        blob = bytearray(draw(st.sampled_from(BTF_SEEDS)))
        for _ in range(draw(st.integers(1, 6))):
            at = draw(st.integers(0, max(0, len(blob) - 4))) & ~3
            word = draw(st.sampled_from([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x04000005, 0x13FFFFFF, 0x08000000, 24]))
            struct.pack_into("<I", blob, at, word)
        return bytes(blob)

    return st.one_of(mutated(BTF_SEEDS), words())


def _fast_path(*args: str) -> CliResult:
    """`mmbits btf show` through the console script, which parses plain forms without click."""
    from mmbits.main import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return CliResult(code, out.getvalue(), err.getvalue())


@given(_btf_mutated(), st.integers(0, 5), st.sampled_from(["demo", "page", "enum colour,demo_t"]),
       st.sampled_from([[], ["--json"], ["--hex"]]), st.booleans())
def test_btf_show(blob: bytes, gz: int, name: str, opts: list[str], fast: bool) -> None:
    with _workdir() as d:
        path = _write(d, "fuzz.btf", _maybe_gzip(blob, gz if gz < 3 else 0))
        os.environ["MMBITS_CACHE_DIR"], saved = str(d / "cache"), os.environ.get("MMBITS_CACHE_DIR")
        try:
            run = _fast_path if fast else run_cli
            assert_contract(run("btf", "show", name, "--btf", str(path), *opts), path)
        finally:
            if saved is None:
                del os.environ["MMBITS_CACHE_DIR"]
            else:
                os.environ["MMBITS_CACHE_DIR"] = saved


# the real 6.18 blob: words overwritten near the start of the type section and in the header
@given(st.data())
def test_btf_show_reference_blob(ref_btf: Path, data: st.DataObject) -> None:
    blob = bytearray(ref_btf.read_bytes())
    hdr_len, type_off = struct.unpack_from("<II", blob, 4)
    base = hdr_len + type_off
    for _ in range(data.draw(st.integers(1, 6))):
        where = data.draw(st.one_of(st.integers(0, 23), st.integers(base, base + 40_000))) & ~3
        word = data.draw(st.sampled_from([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x04000005, 0x13FFFFFF, 190, 0x08000000]))
        struct.pack_into("<I", blob, where, word)
    cut = data.draw(st.sampled_from([len(blob), len(blob) - 1, len(blob) // 2, 30]))
    with _workdir() as d:
        path = _write(d, "vmlinux.btf", bytes(blob[:cut]))
        assert_contract(run_cli("btf", "show", "page", "--btf", str(path), "--no-cache"), path)


@given(_btf_mutated())
def test_btf_import_leaves_nothing_on_bad_input(blob: bytes) -> None:
    with _workdir() as d:
        path = _write(d, "fuzz.btf", blob)
        out = d / "v6.99"
        assert_contract(run_cli("btf", "import", "--btf", str(path), "--config", str(OLD_CONFIG), "--out", str(out),
                                "--no-cache"), path, out)


# -- report --out with a bad .config ----------------------------------------------------

# a whole report per valid config takes ~0.2 s: a quarter of the profile's examples
@settings(max_examples=max(1, settings.default.max_examples // 4))
@given(st.one_of(mutated(CONFIGS), configs_mutated()))
def test_report_out(data: bytes) -> None:
    with _workdir() as d:
        path = _write(d, "fuzz.config", data)
        out = d / "reports"
        assert_contract(run_cli("report", "--config", str(path), "--out", str(out), "--format", "md"), path, out)


# -- simulate --replay FILE -------------------------------------------------------------

# the shape of a `simulate --variant page-type-bit0 --ops 1 --cpus 1 --json` result, cut down
# to what --replay reads, and the plain list form
REPLAYS = [b'{"verdict": "UNSAFE", "findings": [{"kind": "use-after-free", "message": "m", "data": '
           b'{"follows": null, "schedule": [{"thread": "cpu0", "step": "a"}, {"thread": "iommu", "step": "b"}, '
           b'{"thread": "worker", "step": "c"}]}}]}',
           b'["cpu0", "worker", "cpu0"]']


@given(mutated(REPLAYS), st.sampled_from(["0", "1"]))
@example(b'["bpu0", "worker", "cpu0"]', "0")  # "thread 'bpu0' cannot run here" did not name the file
@example(b"\x80", "0")  # UnicodeDecodeError: an internal error
@example(b'{"findings": [1]}', "0")  # AttributeError: an internal error
@example(b'{"findings": [{"data": {"schedule": 7}}]}', "0")  # TypeError: an internal error
def test_simulate_replay(data: bytes, finding: str) -> None:
    with _workdir() as d:
        path = _write(d, "replay.json", data)
        r = run_cli("simulate", "--variant", "page-type-bit0-sketch", "--ops", "1", "--cpus", "1", "--replay", str(path),
                    "--finding", finding)
        assert_contract(r, path)


DEGENERATE = {"empty": b"", "nul": b"\x00" * 64, "latin-1": b"caf\xe9\n", "directory": None, "missing": None}


@pytest.mark.parametrize("name", DEGENERATE)
def test_degenerate_files_every_command(name: str) -> None:
    """The degenerate files, each through every command that reads a user file."""
    data = DEGENERATE[name]
    with _workdir() as d:
        if data is not None:
            path = _write(d, f"{name}.in", data)
        else:
            path = d / name
            if name == "directory":
                path.mkdir()
        for args in (["flags", "--config"], ["show", "page", "--config"], ["check", "--preset", PRESET, "--proposal"],
                     ["patch"], ["decode"], ["btf", "show", "page", "--btf"], ["show", "page", "--layout"],
                     ["simulate", "--replay"], ["simulate", "--proposal"], ["report", "--out", str(d / "r"), "--config"],
                     ["btf", "import", "--config", str(OLD_CONFIG), "--out", str(d / "i"), "--btf"]):
            r = run_cli(*args, str(path))
            assert r.code == 2, (args, r.code, r.err)
            assert_contract(r, path, d / ("r" if "report" in args else "i"))
