"""Inferring the config from the kernel's flags: line and the number of raw words."""

from __future__ import annotations

import pytest

from mmbits.decode.infer import arch_hint, choose_config, fits
from mmbits.errors import InputError
from mmbits.kconfig.presets import preset


def test_preset_found_from_the_flags_line():
    c = choose_config(0x17FFFFC0000000, "node=0|zone=2|lastcpupid=0x1fffff", 64, False, 64)
    assert c.how == "preset" and set(c.presets) == {"amd64-6.12", "x86_64-maxsmp"}


def test_config_solved_from_the_flags_fields_when_no_preset_matches():
    c = choose_config(0x8000000000000000, "zone=2", 64, False, 64, [0xFFFF888119A59420])
    assert c.how == "solved" and c.config.arch == "x86_64"
    assert "ZONES_SHIFT 2" in c.note and "no node field" in c.note
    assert fits(c.config, 64)  # memcg_data present: all 64 bytes are a member


def test_packed_fields_only_match_flags_names_from_another_kernel():
    # v5.x-era PG_slab at bit 9: the fields solve, the names are the other kernel's
    c = choose_config((1 << 9), "slab|node=0|zone=0|lastcpupid=0x0", 64, False, 64)
    assert c.how in ("preset", "solved")


def test_nothing_matches_falls_back_and_says_so():
    # a flags line with no packed field at all: no zone= -> no packing prints it
    c = choose_config(0x400, "arch_1", 32, False, 36)
    assert c.how == "default" and c.config.arch == "arm32"  # 9 words: arm32 with MEMCG, not i386 (40)
    assert "no packing the model can build" in c.note


def test_no_flags_line_uses_the_default_for_the_size():
    assert choose_config(None, None, 32, False, 40).config.name == "i386-highmem-flatmem"
    assert choose_config(None, None, 64, False, 64).config.name == "x86_64-6.18"
    c = choose_config(None, None, 32, False, 32)
    assert fits(c.config, 32) and not c.config.on("MEMCG")
    # x86_64 and arm64 align struct page to 16 bytes (HAVE_ALIGNED_STRUCT_PAGE, kconfig.yaml);
    # 7 words (56 bytes, UML, MEMCG off) are read with a model arch that does not, and said so
    c = choose_config(None, None, 64, False, 56)
    assert fits(c.config, 56) and c.config.arch not in ("x86_64", "arm64") and "56-byte struct page" in c.note
    with pytest.raises(InputError, match="no 64-bit config has a struct page of 24 bytes"):
        choose_config(None, None, 64, False, 24)


def test_arch_hint_from_pointers():
    assert arch_hint([0xFFFF888119A59420, 0xFFFFEA0000472B08], 64) == "x86_64"
    assert arch_hint([0xFFFF0000DD6D9000, 0xFFFFFC0004108008], 64) == "arm64"
    assert arch_hint([0, 1], 64) is None
    assert preset("arm64-kasan-sw-tags").arch == "arm64"
