"""The decoder on the seed's crash dump, on real public reports, and on dumps
made from bytes the layouts encoded (so the expected fields are known)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decode.dumps import dump, raw_lines
from mmbits.decode import decode_text
from mmbits.decode.decoder import to_json
from mmbits.decode.infer import with_endian
from mmbits.errors import InputError
from mmbits.flags.packing import compute
from mmbits.kconfig.presets import preset
from mmbits.layout.registry import layouts


def one(text, **kw):
    (d,) = decode_text(text, **kw)
    return d, to_json(d)


def slot(j, name):
    return next(s for s in j["fields"] if name in s["names"])


def statuses(j):
    return {c["item"]: c["status"] for c in j["agreement"]}


# -- the seed: Willy's "Separate ptdesc from struct page" crash -----------------

def test_seed_shows_lru_prev_list_poison2_and_zone_from_flags():
    d, j = one(dump("seed-004-willy-ptdesc-memdesc.txt"))
    prev = slot(j, "lru.prev")
    assert prev["value"] == "dead000000000122"
    assert "LIST_POISON2" in prev["meaning"]
    assert any(f["kind"] == "poison" and (f["where"]["struct"], f["where"]["field"]) == ("page", "lru.prev") for f in j["findings"])
    assert j["flags"]["fields"]["zone"] == 2
    assert j["flags"]["names"] == []
    # no config given: inferred from the kernel's own flags line, and said so
    assert j["config"]["how"] == "solved" and "ZONES_SHIFT 2" in j["config"]["note"]
    assert "zone's name depends on the zone options" in j["config"]["note"]
    assert j["flags"]["fields"]["zone_name"] == "ZONE_NORMAL"  # x86_64's own zones: DMA, DMA32, NORMAL, MOVABLE
    assert j["depends_on_config"]
    assert all(c["status"] == "agrees" for c in j["agreement"])
    assert (j["refcount"], j["mapcount"], j["mapping"], j["index"]) == (1, 0, "0000000000000000",
                                                                          "0xffff888119a59420")


def test_seed_with_its_real_zone_layout_names_zone_normal():
    # x86_64 without NUMA and without ZONE_DEVICE: DMA, DMA32, NORMAL, MOVABLE
    cfg = preset("x86_64-defconfig-lru-gen")
    from mmbits.kconfig.model import load_model

    values = dict(cfg.primary)
    values.update({"NUMA": 0, "NODES_SHIFT": 0, "LRU_GEN": 0})
    d, j = one(dump("seed-004-willy-ptdesc-memdesc.txt"), config=load_model().make(values, name="willy"))
    assert j["flags"]["fields"]["zone_name"] == "ZONE_NORMAL"
    assert statuses(j)["flags"] == "agrees"


def test_seed_as_the_memdesc_page_finds_the_clobbered_memdesc():
    d, j = one(dump("seed-004-willy-ptdesc-memdesc.txt"), struct="page_sep")
    md = slot(j, "memdesc")
    assert md["offset"] == 16 and "LIST_POISON2" in md["meaning"] and "memdesc type 2" in md["meaning"]
    (f,) = [f for f in j["findings"] if f["kind"] == "memdesc-clobbered"]
    assert "lru.prev" in f["message"]


# -- real reports: agreement with the kernel's own lines -------------------------

def test_lkml_hugetlb_tail_agrees_with_amd64_preset():
    d, j = one(dump("lkml-2504.1-11364-hugetlb-tail.txt"), config=preset("amd64-6.12"))
    assert all(s == "agrees" for s in statuses(j).values()), j["agreement"]
    assert j["flags"]["fields"] == {"node": 0, "zone": 2, "lastcpupid": 0x1FFFFF, "lru_gen": 0, "lru_refs": 0,
                                    "zone_name": "ZONE_NORMAL"}
    assert j["kind"] == "tail"  # the kernel cleared bit 0 ('page does not match folio') and we say so
    assert any("does not match folio" in f["message"] for f in j["findings"])
    # without a config, the same preset is found from the flags line
    d2, j2 = one(dump("lkml-2504.1-11364-hugetlb-tail.txt"))
    assert j2["config"]["how"] == "preset" and "amd64-6.12" in j2["config"]["matching_presets"]


SYZBOT_SETS = {"NR_CPUS": 8, "NUMA_BALANCING": 1, "ZONE_DEVICE": 1, "MEMORY_HOTPLUG": 1}


def syzbot_config():
    from mmbits.kconfig.model import load_model

    values = dict(preset("x86_64-defconfig-lru-gen").primary)
    values.update(SYZBOT_SETS)
    # the report names no release: decode it as 6.19, the release these checks were
    # written for (from 7.1 struct page's tail word is compound_info, not compound_head)
    values["VERSION"] = 6019
    return load_model().make(values, name="syzbot-like")


def test_syzbot_f2fs_report_agrees_on_every_printed_value():
    d, j = one(dump("syzbot-f2fs-meta-page.txt"), config=syzbot_config())
    st_ = statuses(j)
    assert st_ == {"refcount": "agrees", "mapcount": "agrees", "mapping": "agrees", "index": "agrees",
                   "flags": "agrees", "page_type": "agrees", "memcg": "agrees"}
    assert j["refcount"] == 2 and j["mapping"] == "ffff888043b30220" and j["index"] == "0x1201"
    assert j["flags"]["names"] == ["locked", "waiters", "uptodate", "lru"]
    assert j["flags"]["fields"]["lastcpupid"] == 0x7FF and j["flags"]["fields"]["lru_gen"] == 1
    assert j["page_type"] is None  # the kernel printed no page_type: line for this untyped page
    assert j["kind"] == "file" and j["overlay"]["struct"] == "folio"
    assert [f for f in j["findings"] if f["kind"] != "poison"] == []
    assert j["tagged_pointers"] == {
        "compound_head": {"tail": False, "head": None},
        "mapping": {"tag": None, "pointer": "ffff888043b30220"},
        "memcg_data": {"flags": [], "pointer": "ffff88801c6a8d00"}}


def test_anon_mapping_tag_split():
    d, j = one(dump("deepin-896-arm64-6.6-swapcache-hwpoison.txt"))
    assert j["tagged_pointers"]["mapping"] == {"tag": "FOLIO_MAPPING_ANON", "pointer": "ffff0000e232a7c8"}
    assert j["kind"] == "anon" and j["mapping"] == "0000000000000000"  # folio_mapping() of an anon folio


def test_syzbot_f2fs_report_with_the_wrong_config_says_what_differs():
    d, j = one(dump("syzbot-f2fs-meta-page.txt"), config=preset("x86_64-6.18"))
    assert statuses(j)["flags"] == "disagrees"
    kinds = {f["kind"] for f in j["findings"]}
    assert "config-mismatch" in kinds and "version-skew" not in kinds  # names agree, the packing does not
    assert "kernel-disagrees" not in kinds  # the config is wrong, not the kernel
    assert all(f["severity"] == "note" for f in j["findings"] if f["kind"] == "config-mismatch")
    assert statuses(j)["refcount"] == "agrees"  # what does not depend on the packing still agrees


@pytest.mark.parametrize("name, kernel_names", [
    ("deepin-896-arm64-6.6-swapcache-hwpoison.txt", ["locked", "dirty", "arch_1", "swapbacked", "hwpoison"]),
    ("metha-14-arm32-4.19.txt", ["arch_1"]),
    ("dentos-155-arm64-5.15-slab-head.txt", ["slab", "head"]),
])
def test_older_kernels_are_reported_as_version_skew(name, kernel_names):
    d, j = one(dump(name))
    (skew,) = [f for f in j["findings"] if f["kind"] == "version-skew" and "kernel" in f["data"]]
    assert skew["data"]["kernel"] == kernel_names and skew["severity"] == "note"
    assert statuses(j)["flags"] == "disagrees"


def test_a_release_the_model_has_decodes_with_its_own_flags():
    """syzkaller PR 5421's arm64 6.8 report: PG_private is bit 13 in v6.8 (v6.18 moved it),
    and the log's release makes the decode use v6.8's enum pageflags (pageflags.yaml since:/until:)."""
    d, j = one(dump("syzkaller-pr5421-arm64-6.8.txt"))
    assert d.config.kernel == 6008 and statuses(j)["flags"] == "agrees"
    assert not [f for f in j["findings"] if f["kind"] == "version-skew" and "kernel" in f["data"]]


def test_hashed_pointers_are_not_called_disagreements():
    d, j = one(dump("dentos-155-arm64-5.15-slab-head.txt"))
    (m,) = [c for c in j["agreement"] if c["item"] == "mapping"]
    assert m["status"] == "unchecked" and "hashed" in m["why"]


def test_32bit_report_decodes_with_a_36_byte_page():
    d, j = one(dump("metha-14-arm32-4.19.txt"))
    assert j["bits"] == 32 and len(j["words"]) == 9 and d.config.arch == "arm32"
    assert "LIST_POISON1" in slot(j, "lru.next")["meaning"]
    assert slot(j, "flags").get("meaning", "").find("POISON") == -1  # 0x400 in flags is not TAIL_MAPPING


# -- dumps made from encoded bytes -------------------------------------------------

def test_kernel_page_table_page():
    cfg = preset("x86_64-6.18")
    w = compute(cfg)
    pt = layouts().resolve("ptdesc", cfg)
    data = pt.encode({"pt_flags": (2 << w.field("zone").lsb) | (1 << w.flag("PT_kernel").bit),
                      "pt_list.next": 0xFFFF888100002000, "pt_list.prev": 0xFFFF888100003000,
                      "__page_type": 0xF2000000, "__page_refcount": 1})
    text = ("page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x1\n"
            "flags: 0x10000000000004(referenced|node=0|zone=2|lastcpupid=0x0)\n"
            "page_type: f2(table)\n" + raw_lines(data))
    d, j = one(text, config=cfg)
    assert j["kind"] == "kernel-pgtable" and j["overlay"]["struct"] == "ptdesc"
    assert j["page_type"] == "f2(table)" and j["mapcount"] == 0  # typed pages print mapcount 0
    assert j["flags"]["aliases"]["PG_referenced"] == ["PT_kernel"]
    assert all(s == "agrees" for s in statuses(j).values()), j["agreement"]
    names = {n for s in j["overlay"]["fields"] for n in s["names"]}
    assert {"pt_list.next", "pt_list.prev", "__page_type", "pt_memcg_data"} <= names


def test_tail_page_with_head_lines():
    cfg = preset("x86_64-6.18")
    w = compute(cfg)
    folio = layouts().resolve("folio", cfg)
    head_addr = 0xFFFFEA0004000000
    data = folio.encode({
        "flags": 1 << w.flag("PG_head").bit | 1 << w.flag("PG_lru").bit, "mapping": 0xFFFF888012340001,
        "index": 0x100, "_mapcount": 0xFFFFFFFF, "_refcount": 5,
        "_flags_1": 2, "_head_1": head_addr | 1, "_large_mapcount": 3, "_entire_mapcount": 0xFFFFFFFF,
        "_nr_pages_mapped": 4, "_pincount": 0, "_mapcount_1": 0, "_refcount_1": 0,
        "_flags_2": 0, "_head_2": head_addr | 1,
    })
    page = data[64:128]
    text = ("page: refcount:5 mapcount:1 mapping:0000000000000000 index:0x101 pfn:0x100001\n"
            "head: order:2 mapcount:4 entire_mapcount:0 nr_pages_mapped:4 pincount:0\n"
            "anon flags: 0x20(lru|node=0|zone=0|lastcpupid=0x0)\n"
            + raw_lines(page) + "\n" + raw_lines(data[:128], prefix="head: "))
    text = text.replace("0x20(lru", "0x60(lru|head")  # the head page has PG_head too
    d, j = one(text, config=cfg)
    # the dumped page is the folio's page 1: its words are the second page of the head: lines
    assert j["kind"] == "second" and j["head"]["kind"] == "anon" and j["head"]["order"] == 2
    assert j["overlay"]["struct"] == "folio"
    assert {"_flags_1", "_large_mapcount", "_entire_mapcount"} <= {n for s in j["overlay"]["fields"]
                                                                    for n in s["names"]}
    assert slot(j, "flags")["meaning"] == "folio order 2"
    assert "FOLIO_MAPPING" not in slot(j, "mapping").get("meaning", "")
    st_ = statuses(j)
    assert st_["mapcount"] == "agrees" and st_["index"] == "agrees" and st_["refcount"] == "agrees"
    assert st_["head order"] == st_["head mapcount"] == st_["head nr_pages_mapped"] == "agrees"
    assert [f for f in j["findings"] if f.get("severity", "error") in ("error", "warning")] == []


def test_tail_whose_head_does_not_match():
    cfg = preset("x86_64-6.18")
    folio = layouts().resolve("folio", cfg)
    w = compute(cfg)
    data = folio.encode({"flags": 1 << w.flag("PG_head").bit, "_flags_1": 2, "_head_1": 0xFFFFEA0004000001,
                         "_mapcount": 0xFFFFFFFF, "_refcount": 1, "_head_2": 0xFFFFEA0008000001})
    text = raw_lines(data[128:192]) + "\n" + raw_lines(data[:128], prefix="head: ")
    text = "page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x2 pfn:0x2\n" + text
    d, j = one(text, config=cfg)
    assert any(f["kind"] == "inconsistent" and "does not match" in f["message"] for f in j["findings"])


def test_buddy_page_and_page_pool_page():
    cfg = preset("x86_64-6.18")
    pg = layouts().resolve("page", cfg)
    buddy = pg.encode({"buddy_list.next": 0xFFFFEA0000001008, "buddy_list.prev": 0xFFFFEA0000002008,
                       "private": 3, "page_type": 0xF0000000})
    d, j = one(raw_lines(buddy), config=cfg)
    assert j["kind"] == "buddy" and "buddy order 3" in slot(j, "private")["meaning"]
    pp = pg.encode({"pp_magic": 0xDEAD000000000040 | (7 << 7), "pp": 0xFFFF888100000000,
                    "page_type": 0xFFFFFFFF, "_refcount": 1})
    d, j = one(raw_lines(pp), config=cfg)
    assert j["kind"] == "page_pool"


def test_big_endian_arm64_splits_page_type_and_refcount_right():
    cfg = preset("arm64-kasan-sw-tags")
    be = with_endian(cfg, True)
    pg = layouts().resolve("page", be)
    data = pg.encode({"page_type": 0xF5000000, "_refcount": 3})
    text = raw_lines(data, 64, little=False)
    d, j = one(text, config=cfg, big=True)
    assert j["endian"] == "big" and j["kind"] == "slab" and j["refcount"] == 3
    d, j = one(text, config=cfg, big=False)
    assert j["refcount"] != 3  # read as little-endian the halves swap
    with pytest.raises(InputError, match="little-endian only"):
        decode_text(text, config=preset("x86_64-6.18"), big=True)


def test_bare_words_several_pages_and_bits_check():
    cfg = preset("x86_64-6.18")
    pg = layouts().resolve("page", cfg)
    a = pg.encode({"_refcount": 1, "page_type": 0xFFFFFFFF})
    words = raw_lines(a + a, prefix="")
    pages = decode_text(words, config=cfg)
    assert len(pages) == 2
    with pytest.raises(InputError, match="--bits 32"):
        decode_text(words, bits=32)
    with pytest.raises(InputError, match="not a whole number"):
        decode_text(raw_lines(a, prefix="") + "\n0000000000000000 0000000000000000", config=cfg)


def test_wrong_number_of_raw_words_for_the_config():
    with pytest.raises(InputError, match="struct page is 64 bytes") as exc:
        decode_text("raw: 02ffff8000000000 0000000000000000 0000000000000000 fffffffeffffffff\n"
                    "raw: dead000000000100 dead000000000200 0000000000000000\n", config=preset("x86_64-6.18"))
    assert exc.value.line == 1


@given(st.lists(st.integers(0, (1 << 64) - 1), min_size=8, max_size=8))
def test_any_words_decode_and_read_back(words):
    """Property: every raw word comes back in the JSON, and the fields re-encode to the same bytes."""
    cfg = preset("x86_64-6.18")
    text = "\n".join("raw: " + " ".join(f"{w:016x}" for w in words[i:i + 4]) for i in (0, 4))
    d, j = one(text, config=cfg)
    assert j["words"] == [f"{w:016x}" for w in words]
    layout = d.page.layout
    data = b"".join(w.to_bytes(8, "little") for w in words)
    assert layout.encode({n: v for n, v in d.page.values.items() if n in ("flags", "lru.next", "lru.prev",
                                                                         "mapping", "__folio_index", "private",
                                                                         "page_type", "_refcount",
                                                                         "memcg_data")}) == data
