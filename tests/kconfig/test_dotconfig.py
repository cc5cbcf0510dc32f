"""Reading a kernel .config: the two real kernels, gzip, and bad files."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbits.errors import InputError
from mmbits.kconfig.dotconfig import config_from_file, parse_text
from mmbits.kconfig.presets import preset

from conftest import OLD_CONFIG, REF_CONFIG


@pytest.mark.parametrize("path, name", [(REF_CONFIG, "x86_64-6.18"), (OLD_CONFIG, "amd64-6.12")])
def test_real_configs_equal_their_presets(path, name) -> None:
    cfg, dot = config_from_file(path)
    assert cfg.primary == preset(name).primary
    assert dot.kernel_version.startswith("6.18" if "6.18" in name else "6.12")


def test_reference_kernel_facts() -> None:
    cfg, _ = config_from_file(REF_CONFIG)
    assert cfg.arch == "x86_64" and cfg.bits == 64
    assert cfg["NR_CPUS"] == 256 and cfg["NODES_SHIFT"] == 10
    assert cfg["MEMCG"] and cfg["SLAB_OBJ_EXT"] and not cfg["LRU_GEN"] and not cfg["MEMORY_FAILURE"]
    assert cfg["ALLOC_SPLIT_PTLOCKS"] == 0


def test_gzip_config(tmp_path) -> None:
    gz = tmp_path / "config.gz"
    gz.write_bytes(gzip.compress(REF_CONFIG.read_bytes()))
    cfg, _ = config_from_file(gz)
    assert cfg.primary == preset("x86_64-6.18").primary


def test_overrides() -> None:
    cfg, _ = config_from_file(REF_CONFIG, {"LRU_GEN": 1})
    assert cfg["LRU_GEN"] == 1


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("CONFIG_X86_64=y\nthis is not kconfig\n", "not a .config line", 2),
        ("# just a comment\n", "no CONFIG_ symbols", None),
        ("CONFIG_FOO=y\n", "cannot tell the architecture", None),
        ("CONFIG_X86_64=y\nCONFIG_NR_CPUS=lots\n", "expected an integer", None),
    ],
)
def test_bad_configs(tmp_path, text, message, line) -> None:
    path = tmp_path / "bad.config"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as exc:
        config_from_file(path)
    assert exc.value.file == str(path)
    if line is not None:
        assert exc.value.line == line


def test_bad_gzip(tmp_path) -> None:
    path = tmp_path / "config.gz"
    path.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(InputError, match="gzip"):
        config_from_file(path)


@given(st.text(max_size=200))
def test_fuzz_parser(text: str) -> None:
    try:
        parse_text(text, "fuzz.config")
    except InputError as exc:
        assert str(exc).startswith("fuzz.config")
