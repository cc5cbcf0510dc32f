"""Decoding a Linux 7.1 struct page, whose tail word is named compound_info
(include/linux/mm_types.h of the 7.1.5 tree; compound_head until 7.0)."""

from __future__ import annotations

from decode.dumps import raw_lines
from mmbits.decode import decode_text
from mmbits.decode.decoder import to_json
from mmbits.kconfig.model import load_model
from mmbits.kconfig.presets import preset_info
from mmbits.layout.registry import layouts


def config_71():
    model = load_model()
    return model.make(model.normalise({**preset_info("x86_64-6.18").values, "VERSION": "7.1", "SUBLEVEL": 5},
                                      where="test: "), name="x86_64-6.18@7.1")


def test_7_1_tail_page_is_read_from_compound_info() -> None:
    cfg = config_71()
    page = layouts().resolve("page", cfg)
    head = 0xFFFFEA0004000000
    raw = page.encode({"compound_info": head | 1, "_mapcount": 0xFFFFFFFF, "_refcount": 0,
                       "page_type": 0xFFFFFFFF})
    (d,) = decode_text(raw_lines(raw), config=cfg)
    j = to_json(d)
    assert j["kind"] == "tail"
    assert j["tagged_pointers"]["compound_info"] == {"tail": True, "head": "ffffea0004000000"}
    assert "compound_head" not in j["tagged_pointers"]


def test_7_1_buddy_page_is_not_a_tail() -> None:
    cfg = config_71()
    page = layouts().resolve("page", cfg)
    raw = page.encode({"buddy_list.next": 0xFFFFEA0000001008, "buddy_list.prev": 0xFFFFEA0000002008,
                       "private": 3, "page_type": 0xF0000000})
    (d,) = decode_text(raw_lines(raw), config=cfg)
    j = to_json(d)
    assert j["kind"] == "buddy" and j["tagged_pointers"]["compound_info"]["tail"] is False


def test_7_1_hvo_mask_is_named_a_mask_not_a_head_address() -> None:
    # 7.1.5 set_compound_head() with HUGETLB_PAGE_OPTIMIZE_VMEMMAP and sizeof(struct
    # page) 64: shift = order + order_base_2(64); for order 2, GENMASK(63, 8) | 1
    cfg = config_71()
    page = layouts().resolve("page", cfg)
    raw = page.encode({"compound_info": 0xFFFFFFFFFFFFFF01, "_mapcount": 0xFFFFFFFF, "page_type": 0xFFFFFFFF})
    (d,) = decode_text(raw_lines(raw), config=cfg)
    j = to_json(d)
    assert j["kind"] == "tail"
    head = j["tagged_pointers"]["compound_info"]["head"]
    assert "ffffffffffffff00" in head and "mask" in head
