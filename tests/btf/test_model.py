"""BTF layouts are the foundation's one model: the words an analysis reads and writes (`Layout.words`)
sit at the same place in the BTF layout as in our YAML layout for the reference .config."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbits.btf import open_btf
from mmbits.btf.render import layout_of
from mmbits.kconfig.dotconfig import config_from_file
from mmbits.layout.registry import resolve

from conftest import REF_CONFIG

# words our types.yaml models as one word where the kernel type is a struct/union:
# spinlock_t is struct spinlock (its sub-words appear instead), freelist_aba_t a union
MODELLED_DIFFERENTLY = {"ptdesc": {"ptl"}, "slab": {"freelist_counter.counter", "freelist_counter.freelist"}}


@pytest.mark.parametrize("struct", ["page", "folio", "ptdesc", "slab", "zpdesc", "ioptdesc"])
def test_words_agree_with_yaml(struct: str, ref_btf: Path) -> None:
    cfg, _ = config_from_file(REF_CONFIG)
    ours = resolve(struct, cfg)
    theirs = layout_of(open_btf(ref_btf), struct)
    assert theirs.little and theirs.size == ours.size
    missing = set(ours.words) - set(theirs.words)
    assert missing == MODELLED_DIFFERENTLY.get(struct, set())
    for name, word in ours.words.items():
        if name in theirs.words:
            other = theirs.words[name]
            assert (other.offset, other.size, other.bit_offset, other.bit_size) == \
                   (word.offset, word.size, word.bit_offset, word.bit_size), name
    # and the bytes decode the same way through either layout
    raw = bytes((i * 37 + 11) & 0xFF for i in range(ours.size))
    mine, btf = ours.decode(raw), theirs.decode(raw)
    assert {k: v for k, v in mine.items() if k in btf} == {k: btf[k] for k in mine if k in btf}
