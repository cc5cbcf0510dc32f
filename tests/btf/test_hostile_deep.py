"""Issue #16: BTF nested more than 64 levels is reported as too deep, not as a type loop;
a real loop is still a loop. One error line naming the file, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from btf.btfgen import BtfBuilder

from util.clirun import assert_clean_error


def _nested(levels: int, anonymous: bool) -> bytes:
    b = BtfBuilder()
    inner = b.int_("int", 4, signed=True)
    for i in range(levels):
        inner = b.struct("" if anonymous and i < levels - 1 else f"s{i}", 4, [(f"m{i}", inner, 0, 0)])
    return b.blob()


def _typedef_chain(levels: int) -> bytes:
    b = BtfBuilder()
    t = b.int_("int", 4, signed=True)
    for i in range(levels):
        t = b.ref("typedef", f"t{i}", t)
    b.struct("top", 4, [("x", t, 0, 0)])
    return b.blob()


@pytest.mark.parametrize(("blob", "name"), [(_nested(70, True), "s69"), (_typedef_chain(70), "top")],
                         ids=["anonymous-structs", "typedef-chain"])
def test_deep_is_not_a_loop(cli, tmp_path: Path, blob: bytes, name: str) -> None:
    path = tmp_path / "deep.btf"
    path.write_bytes(blob)
    r = cli("btf", "show", name, "--btf", str(path), "--no-cache")
    if r.code == 0:
        return  # printed in full: deep nesting is not an error when the walker needs no depth
    assert_clean_error(r)
    message = r.err.split(str(path), 1)[1]  # the test name in the path says "loop" too
    assert "loop" not in message and ("deep" in message or "more than 64" in message), r.err
    assert str(path) in r.err


def test_a_real_loop_is_still_a_loop(cli, tmp_path: Path) -> None:
    b = BtfBuilder()
    # const -> volatile -> const: a modifier cycle
    b.ref("const", "", 2)
    b.ref("volatile", "", 1)
    b.struct("top", 4, [("x", 1, 0, 0)])
    path = tmp_path / "loop.btf"
    path.write_bytes(b.blob())
    r = cli("btf", "show", "top", "--btf", str(path), "--no-cache")
    assert_clean_error(r)
    assert "loop" in r.err.split(str(path), 1)[1]
