"""Issue #16, compressed inputs are read whole or refused: a `.config.gz` cut at 70%
(zcat: "unexpected end of file") or with a second member, a `.btf.gz` without its
trailer, a truncated or concatenated `.btf.xz`, trailing bytes: one error line naming
the file, exit 2. The choice (README): one stream only, concatenation is refused."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbits.errors import InputError
from mmbits.inputs import decompress_whole

from conftest import REF_CONFIG
from util.clirun import assert_clean_error, run_cli

CONFIG = REF_CONFIG.read_bytes()
CONFIG_GZ = gzip.compress(CONFIG)


def _cases(blob: bytes, compress: str) -> dict[str, bytes]:
    whole = gzip.compress(blob) if compress == "gz" else lzma.compress(blob)
    return {
        "cut-70%": whole[: len(whole) * 7 // 10],
        "no-trailer": whole[:-8],
        "second-member": whole + (gzip.compress(b"CONFIG_X=y\n") if compress == "gz" else lzma.compress(b"x")),
        "trailing-bytes": whole + b"garbage",
    }


@pytest.mark.parametrize("case", sorted(_cases(b"", "gz")))
def test_config_gz(tmp_path: Path, case: str) -> None:
    path = tmp_path / "config.gz"
    path.write_bytes(_cases(CONFIG, "gz")[case])
    r = run_cli("show", "page", "--config", str(path))
    assert_clean_error(r)
    assert str(path) in r.err


@pytest.mark.parametrize("compress", ["gz", "xz"])
@pytest.mark.parametrize("case", sorted(_cases(b"", "gz")))
def test_btf_compressed(tmp_path: Path, ref_btf: Path, compress: str, case: str) -> None:
    path = tmp_path / f"vmlinux.btf.{compress}"
    path.write_bytes(_cases(ref_btf.read_bytes()[:200_000], compress)[case])
    r = run_cli("btf", "show", "page", "--btf", str(path), "--no-cache")
    assert_clean_error(r)
    assert str(path) in r.err


def test_whole_streams_still_read(tmp_path: Path) -> None:
    path = tmp_path / "config.gz"
    path.write_bytes(CONFIG_GZ)
    assert run_cli("show", "page", "--config", str(path)).code == 0
    assert decompress_whole(lzma.compress(b"abc"), "x", 10, "a test") == b"abc"


@given(st.integers(0, len(CONFIG_GZ) - 1))
def test_every_cut_of_a_gzip_is_refused(cut: int) -> None:
    data = CONFIG_GZ[:cut]
    if data[:2] != b"\x1f\x8b":
        return  # not recognisable as gzip any more: read as plain text elsewhere
    with pytest.raises(InputError, match=r"^c.gz: "):
        decompress_whole(data, "c.gz", 32 << 20, "a kernel .config")
