"""Finding dump_page output in real logs: prefixes, several reports, wrapped lines, bad input."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from decode.dumps import dump
from mmbits.decode.parse import parse_dump, strip_prefix
from mmbits.errors import InputError


@pytest.mark.parametrize("line", [
    "[  294.055186][T10694] raw: 8000000000000000",
    "[ T123] raw: 8000000000000000",
    "[   26.301368] raw: 8000000000000000",
    "<4>[    1.000000] raw: 8000000000000000",
    "Oct 20 01:16:35 host kernel: raw: 8000000000000000",
    "kernel: raw: 8000000000000000",
    "> > raw: 8000000000000000",
])
def test_log_prefixes_are_stripped(line):
    assert strip_prefix(line) == "raw: 8000000000000000"


def test_seed_report_lines():
    (rec,) = parse_dump(dump("seed-004-willy-ptdesc-memdesc.txt"))
    assert rec.page == {"refcount": 1, "mapcount": 0, "mapping": "0000000000000000",
                        "index": 0xFFFF888119A59420, "pfn": 0x124CCE}
    assert rec.flags_value == 0x8000000000000000 and rec.flags_text == "zone=2"
    assert rec.raw_words()[2] == 0xDEAD000000000122
    assert rec.reason == "VM_BUG_ON_PAGE(1)"
    assert rec.width == 16


def test_journald_report_with_page_does_not_match_folio():
    (rec,) = parse_dump(dump("lkml-2504.1-11364-hugetlb-tail.txt"))
    assert rec.not_faithful
    assert len(rec.raw_words()) == 8
    assert rec.reason == "corrupted mapping in tail page"


def test_32bit_words_eight_per_line():
    (rec,) = parse_dump(dump("metha-14-arm32-4.19.txt"))
    assert rec.width == 8
    assert rec.raw_words() == [0x400, 0x100, 0x200, 0, 1, 0, 0xFFFFFFFF, 0, 0]
    assert rec.page["refcount"] == 0  # old kernels print count:


def test_old_head_line_memcg_anon_and_page_type_formats():
    (rec,) = parse_dump(dump("dentos-155-arm64-5.15-slab-head.txt"))
    assert rec.head_info == {"order": 8, "compound_mapcount": 0, "compound_pincount": 0}
    (rec,) = parse_dump(dump("deepin-896-arm64-6.6-swapcache-hwpoison.txt"))
    assert rec.flags_prefix == "anon" and rec.memcg == 0xFFFF0000DD6D9000
    (rec,) = parse_dump(dump("syzkaller-pr5421-arm64-6.8.txt"))
    assert rec.page_type_full == 0xFFFFFFFF and rec.page_type_name == ""
    (rec,) = parse_dump(dump("syzbot-f2fs-meta-page.txt"))
    assert rec.notes == ["aops:f2fs_meta_aops ino:2"]


def test_many_reports_in_one_log_and_other_flags_lines_ignored():
    text = "\n".join([
        "vma ffff888000000000 start 0000 end 1000 mm ffff888000001000",
        "flags: 0x8000070(read|write)",  # dump_vma's flags line: not a page
        dump("seed-004-willy-ptdesc-memdesc.txt"),
        "some other kernel message",
        dump("lkml-2504.1-11364-hugetlb-tail.txt"),
        dump("seed-004-willy-ptdesc-memdesc.txt"),
    ])
    recs = parse_dump(text)
    assert len(recs) == 3
    assert [r.flags_text for r in recs] == ["zone=2", "node=0|zone=2|lastcpupid=0x1fffff", "zone=2"]
    assert recs[1].not_faithful and not recs[0].not_faithful and not recs[2].not_faithful


def test_head_lines_and_mail_wrapped_raw_lines():
    text = ("page: refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x743\n"
            "flags: 0x7ffff000000000(node=0|zone=0|lastcpupid=0x7ffff)\n"
            "raw: \n007ffff000000000 c00c00000001d0c8 c00c00000001d0c8 0000000000000000\n"
            "raw: \n0000000000000000 0000000000000000 00000000ffffffff 0000000000000000\n"
            "head: 0000000000000040 0000000000000000 0000000000000000 0000000000000000\n"
            "head: 0000000000000000 0000000000000000 00000000ffffffff 0000000000000001\n")
    (rec,) = parse_dump(text)
    assert len(rec.raw_words()) == 8 and len(rec.head_words()) == 8


def test_bare_words_blocks():
    recs = parse_dump("8000000000000000 0000000000000000 dead000000000122 0000000000000000\n"
                      "ffff888119a59420 0000000000000000 00000001ffffffff 0000000000000000\n\n"
                      "0x00000400 0x00000100\n")
    assert len(recs) == 2 and recs[0].bare and len(recs[0].raw_words()) == 8
    assert recs[1].width == 8


@pytest.mark.parametrize("text, line, words", [
    ("page: refcount:1 mapcount:0 mapping:0 index:0x0 pfn:0x1\nraw: 8000000000000000 xyz\n", 2, "not hex"),
    ("raw: 8000000000000000 00000000\n", 1, "mixes"),
    ("raw: 80000000000000 0000000000000000\n", 1, "14 hex digits"),
    ("x\npage: refcount:abc mapcount:0\n", 2, "bad refcount"),
    ("nothing here\nat all\n", None, "no dump_page output"),
    ("page_type: zz\n", None, "no dump_page output"),
    ("page: refcount:1 mapcount:0 mapping:0 index:0x0\npage_type: what is this\n", 2, "page_type"),
])
def test_malformed_input_names_the_line(text, line, words):
    with pytest.raises(InputError) as exc:
        parse_dump(text, "bug.txt")
    assert exc.value.line == line
    assert exc.value.file == "bug.txt"
    assert words in str(exc.value)


def test_poisoned_struct_page_report():
    from mmbits.decode import decode_text
    from mmbits.decode.decoder import to_json

    (d,) = decode_text("page:ffffea0000400000 is uninitialized and poisoned\n"
                       "page dumped because: VM_BUG_ON_PAGE(PagePoisoned(p))\n")
    j = to_json(d)
    assert j["poisoned"] and j["kind"] is None and j["kernel"] is None
    # older kernels still printed the raw words: all 0xff
    (d,) = decode_text("page:ffffea0000400000 is uninitialized and poisoned\n"
                       + "raw: ffffffffffffffff ffffffffffffffff ffffffffffffffff ffffffffffffffff\n" * 2)
    j = to_json(d)
    assert j["kind"] == "poisoned"
    assert any("PAGE_POISON_PATTERN" in f["message"] for f in j["findings"])


_DUMPISH = st.lists(st.sampled_from([
    "page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x1", "raw:", "head:",
    "raw: 8000000000000000 0000000000000000 dead000000000122 0000000000000000",
    "raw: 00000400 00000100", "flags: 0x0(zone=0)", "page_type: f2(table)", "memcg:ffff",
    "page dumped because: x", "head: order:2 mapcount:1", "ffffffffffffffff", "[ T1] raw: 0x12345678",
    "page does not match folio", "anon flags: 0x1(locked)", "", "garbage ::: (",
]), max_size=12)


@given(st.one_of(st.text(max_size=300), _DUMPISH.map("\n".join)))
@example("raw: 00000400\n")  # no config has a 4-byte struct page: the error did not name the file
def test_any_text_parses_or_is_one_input_error(text):
    """Fuzz: the parser and the decoder never fail with anything but InputError, naming the file."""
    from mmbits.decode import decode_text

    try:
        for rec in parse_dump(text, "fuzz.txt"):
            assert rec.start <= rec.end
        decode_text(text, file="fuzz.txt")
    except InputError as exc:
        assert exc.file == "fuzz.txt" and "\n" not in str(exc), str(exc)


def test_the_page_line_read_in_one_match_as_the_general_way_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # every real report's page: line (tests/data/dumps/real): the one-match form and the
    # general key:value reading give the same fields (the general one forced by a pattern
    # that never matches)
    import re

    from decode.dumps import DUMPS
    from mmbits.decode import parse

    rests = []
    for path in sorted((DUMPS / "real").glob("*.txt")):
        for line in path.read_text().splitlines():
            text = strip_prefix(line)
            if text.startswith("page:") and parse.page_line_kind(text[5:].strip()) == "page":
                rests.append(text[5:].strip())
    fast = [parse._parse_page_line(rest, 1, "f") for rest in rests]
    assert sum(parse._PAGE_LINE.fullmatch(rest) is not None for rest in rests) >= len(rests) // 2
    monkeypatch.setattr(parse, "_PAGE_LINE", re.compile(r"(?!)"))
    assert [parse._parse_page_line(rest, 1, "f") for rest in rests] == fast


def test_head_lines_read_once_per_text_after_the_address_give_each_report_its_own_fields() -> None:
    """decode/parse.py keeps a head: line's fields by the text after the folio's address:
    two folios of one kind read alike, a field changed is read anew, and a report's fields
    are its own (changing them changes no other report's)."""
    from mmbits.decode.parse import parse_dump

    def report(head: str) -> str:
        return ("page:ffffea0004015840 refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x100561\n"
                f"head:{head}\nflags: 0x4000000000000000(zone=1)\n"
                "raw: 4000000000000000 ffffea0004015801 dead000000000122 0000000000000000\n"
                "raw: 0000000000000000 0000000000000000 00000000ffffffff 0000000000000000\n")

    records = parse_dump(report("ffffea0004015800 order:3 compound_mapcount:0 compound_pincount:0")
                         + report("ffffea0004016000 order:3 compound_mapcount:0 compound_pincount:0")
                         + report("ffffea0004016000 order:2 compound_mapcount:0 compound_pincount:0")
                         + report("order:3 compound_mapcount:1 compound_pincount:0"))
    infos = [r.head_info for r in records]
    assert infos == [{"order": 3, "compound_mapcount": 0, "compound_pincount": 0}] * 2 + [
        {"order": 2, "compound_mapcount": 0, "compound_pincount": 0},
        {"order": 3, "compound_mapcount": 1, "compound_pincount": 0}]
    assert infos[0] is not None and infos[1] is not None
    infos[0]["order"] = 9
    assert infos[1]["order"] == 3
    again = parse_dump(report("ffffea0004017000 order:3 compound_mapcount:0 compound_pincount:0"))
    assert again[0].head_info == {"order": 3, "compound_mapcount": 0, "compound_pincount": 0}


# --- records_with_next against its frozen copy (tests/decode/parse_reference.py) ------------

# every kind of line the parser tells apart, in the forms that take each branch and each of
# its ways out: uppercase and odd tags, word-less, wrapped and unreadable raw:/head: lines,
# bad page:/memcg:/page_type: lines, bare words, other messages' lines with a colon or none
_PARSER_LINES = [
    "page:ffffea0004015800 refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x100560",
    "page:00000000c0ffee00 refcount:0 mapcount:-128 mapping:0000000000000000 index:0x1 pfn:0x2",
    "page: refcount:3 mapcount:1 mapping:ffff888100c8a001 index:0x7f589dd7f pfn:0x211d7f",
    "page:ffffea0000000040 count:2 mapcount:0 mapping:(null) index:0x0",
    "page:ffffea0000000040 refcount:x mapcount:0",
    "page: mapcount:0 pfn:0x1 refcount:1",
    "page:ffffea0000000040 is uninitialized and poisoned",
    "page: something else",
    "PAGE:ffffea0004015800 refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x100560",
    "page does not match folio",
    "Page Does Not Match Folio",
    "page does not match folio: odd",
    "page does not match foli",
    "The buggy address belongs to the physical page:",
    "head:ffffea0004015800 order:3 compound_mapcount:0 compound_pincount:0",
    "head: order:2 mapcount:0 entire_mapcount:0 nr_pages_mapped:0 pincount:0",
    "head: order:x mapcount:0",
    "HEAD: order:1 mapcount:0",
    "head: 4000000000010200 0000000000000000 dead000000000122 ffff8881002c4d80",
    "head: 0x00001000 0xed741470",
    "head: 4000000000010200 zzzz",
    "head: 4000000000010200 12345",
    "head:",
    "head:   ",
    "memcg:ffff888100c8a000",
    "memcg: zz",
    "MEMCG:ffff888100c8a000",
    "anon flags: 0x17fffe000020838(uptodate|dirty|lru|owner_2|swapbacked|node=0|zone=2)",
    "ksm flags: 0x100(x) CMA",
    "flags: 0x4000000000010200(slab|head|zone=1)",
    "flags: 0x200(workingset|zone=0)",
    "flags: nonsense",
    "Flags: 0x200(zone=0)",
    "vma flags: 0x200(zone=0)",
    "page_type: f2(table)",
    "page_type: 0xffffff7f(buddy)",
    "page_type: zz",
    "PAGE_TYPE: f0(buddy)",
    "aops:shmem_aops ino:1b dentry name:\"x\"",
    "ino:42",
    "Aops:x",
    "raw: 4000000000010200 0000000000000000 dead000000000122 ffff8881002c4d80",
    "raw: 0000000000000000 0000000080160016 00000001ffffffff 0000000000000000",
    "raw: 00001000 ed741470 ed741470 00000000",
    "raw: 0x4000000000010200 0x0000000000000000",
    "raw: 4000000000010200  0000000000000000",
    "raw: 4000000000010200 00001000",
    "raw: 4000000000010200 zzzz",
    "raw: 12345",
    "raw:",
    "raw:   ",
    "RAW: 4000000000010200 0000000000000000",
    "raw:4000000000010200",
    "4000000000010200 0000000000000000 dead000000000122 ffff8881002c4d80",
    "0x4000000000010200 0x0000000000000000",
    "00001000 ed741470",
    "00001000",
    "4000000000010200 zz",
    "12345678 123",
    "page dumped because: nonzero mapcount",
    "page dumped because: VM_BUG_ON_PAGE(1)",
    "Page dumped because:  x ",
    "page dumped because",
    "CPU: 1 PID: 8 Comm: kworker/u4:0 Not tainted 6.1.129 #0",
    "BUG: Bad page state in process swapper  pfn:100560",
    "Call Trace:",
    " dump_stack_lvl+0x4d/0x70",
    "pages",
    "",
    "   ",
    "x raw: 4000000000010200",
    "caf\u00e9 flags: 0x200(zone=0)",
]


def _outcome(parse, lines: list[tuple[int, str]]) -> tuple[list[object], list[int], str | None]:
    """What a parser makes of the lines: each (record, its error's text, next start), the
    starts on_start was told, and the error that ended it (as text), if one did."""
    out: list[object] = []
    starts: list[int] = []
    try:
        for record, next_start in parse(lines, "f.log", starts.append):
            error = record.error
            record.error = None
            out.append((record, str(error) if error is not None else None, next_start))
    except InputError as exc:
        return out, starts, str(exc)
    return out, starts, None


# a report as dump_page prints it, and words without one: runs of lines drawn from these
# (some left out) make the contexts a branch depends on (a report's page: line, its raw:
# lines, words before any report) likelier than single lines drawn alone
_REPORT = [
    "page:ffffea0004015800 refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x100560",
    "head: order:2 mapcount:0 entire_mapcount:0 nr_pages_mapped:0 pincount:0",
    "memcg:ffff888100c8a000",
    "anon flags: 0x17fffe000020838(uptodate|dirty|lru|owner_2|swapbacked|node=0|zone=2)",
    "page_type: f2(table)",
    "aops:shmem_aops ino:1b dentry name:\"x\"",
    "raw: 4000000000010200 0000000000000000 dead000000000122 ffff8881002c4d80",
    "raw: 0000000000000000 0000000080160016 00000001ffffffff 0000000000000000",
    "head: 4000000000010200 0000000000000000 dead000000000122 ffff8881002c4d80",
    "head: 0000000000000000 0000000080160016 00000001ffffffff 0000000000000000",
    "page dumped because: nonzero mapcount",
]
_BARE = ["4000000000010200 0000000000000000", "00001000 ed741470", "0x00001000", "", "Call Trace:",
         "flags: 0x200(zone=0)", "page_type: f2(table)", "aops:x", "BUG: x", "raw:", "head:"]


def _kept(lines: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)).map(
        lambda keep: [line for line, k in zip(lines, keep, strict=True) if k])


_CHUNKS = st.one_of(st.sampled_from(_PARSER_LINES).map(lambda line: [line]), _kept(_REPORT),
                    st.lists(st.sampled_from(_BARE), max_size=6))


@settings(max_examples=500)
@given(st.lists(_CHUNKS, max_size=10).map(lambda chunks: [line for chunk in chunks for line in chunk]),
       st.lists(st.integers(0, 2), min_size=1, max_size=8), st.integers(0, 1))
@example(["raw:", "raw:", "00001000 ed741470", "page does not match folio"], [1], 1)
# a tag of 25 characters and more that starts as `page does not match folio` is that line
@example([_REPORT[0], _REPORT[6], "page does not match folio: odd", _REPORT[7]], [1], 1)
# head: words after a word-less head: line's words, without a page: line
@example(["head:", "00001000 ed741470", "head: 00001000 ed741470"], [1], 1)
@example(["4000000000010200 0000000000000000", "", "00001000 ed741470"], [1], 1)
def test_records_with_next_reads_every_line_as_its_frozen_copy(texts: list[str], gaps: list[int],
                                                               first: int) -> None:
    """The parser's fast paths for the common lines change nothing: on any sequence of lines
    (numbered from 0 or 1, with gaps and repeats), the records (every field, the error's
    text), the next starts, the starts told as they are read and the final error are those
    of the frozen copy."""
    from decode import parse_reference
    from mmbits.decode.parse import records_with_next

    lines, number = [], first
    for i, text in enumerate(texts):
        lines.append((number, text))
        number += gaps[i % len(gaps)]
    assert _outcome(records_with_next, lines) == _outcome(parse_reference.records_with_next, lines)


@given(st.lists(st.sampled_from(["4000000000010200", "ffffea00", "DEAD000000000122", "0x1", "zz", "0000000",
                                 " ", "  ", "\t", "\x0b", "\u3000"]), max_size=8).map("".join))
@example(" ffffea00\tffffea00\x0b")
@example("4000000000010200\u30004000000000010200")
def test_printed_text_is_printed_words_of_the_split_text(text: str) -> None:
    """decode/scan.py tells a raw: line's words in place (parse.printed_text); the parser
    splits them first (parse.printed_words): one rule, both ways."""
    from mmbits.decode.parse import printed_text, printed_words

    assert printed_text("x" + text + "y", 1, 1 + len(text)) == printed_words(text.split())
