"""A bad layout file is one line FILE:LINE: message and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mmbits.errors import InputError
from mmbits.kconfig.presets import preset
from mmbits.layout.registry import layouts

from util.clirun import assert_clean_error

GOOD = """struct: ptdesc
members:
  - pt_flags: memdesc_flags_t
  - union:
      - pt_list: struct list_head
      - pt_rcu_head: struct callback_head
  - __page_mapping: unsigned long
  - pt_index: unsigned long
  - _pt_pad_2: unsigned long
  - __page_type: unsigned int
  - __page_refcount: atomic_t
  - pt_memcg_data: unsigned long
    if: MEMCG
"""

BAD = [
    ("unknown type", GOOD.replace("unsigned long\n  - pt_index", "unsigned lung\n  - pt_index"), 7,
     "unknown type 'unsigned lung'"),
    ("bad condition", GOOD.replace("if: MEMCG", "if: MEMCG &&"), 13, "bad condition"),
    ("unknown symbol", GOOD.replace("if: MEMCG", "if: MEMGC"), 13, "did you mean MEMCG"),
    ("overlap", GOOD.replace("  - pt_index: unsigned long", "  - pt_index: unsigned long\n    at: 16"), 8,
     "overlaps the previous member"),
    ("size assert", GOOD + "expect_size: 72\n", 2, "size assert violated"),
    ("two names", GOOD.replace("  - __page_mapping: unsigned long", "  - {__page_mapping: unsigned long, x: int}"),
     7, "one per line"),
    ("yaml syntax", GOOD.replace("  - union:", "  - union: [oops"), None, "YAML error"),
    ("not a mapping", "- just\n- a list\n", None, "not a layout file"),
    ("bitfield pointer", GOOD.replace("  - pt_index: unsigned long", "  - {pt_index: void *, bits: 3}"), 8,
     "bitfield must have an integer type"),
]


@pytest.mark.parametrize("label, text, line, message", BAD, ids=[b[0] for b in BAD])
def test_bad_layout_file(tmp_path: Path, label: str, text: str, line: int | None, message: str) -> None:
    path = tmp_path / "ptdesc.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        layouts(overrides=(path,)).resolve("ptdesc", preset("x86_64-6.18"))
    err = str(exc.value)
    assert err.startswith(str(path)), err
    assert message in err
    if line is not None:
        assert exc.value.line == line, err


@pytest.mark.parametrize("label, text, line, message", BAD[:3], ids=[b[0] for b in BAD[:3]])
def test_bad_layout_via_cli(cli, tmp_path: Path, label, text, line, message) -> None:
    path = tmp_path / "ptdesc.yaml"
    path.write_text(text)
    result = cli("show", "ptdesc", "--layout", str(path))
    assert_clean_error(result)
    assert f"{path}:{line}:" in result.err and message in result.err


def test_good_override_is_used(cli, tmp_path: Path) -> None:
    path = tmp_path / "ptdesc.yaml"
    path.write_text(GOOD)
    result = cli("show", "ptdesc", "--layout", str(path), "--json")
    assert result.code == 0
    assert [m["name"] for m in result.json()["members"]][:3] == ["pt_flags", "pt_list", "pt_rcu_head"]


@given(st.text(max_size=300))
@example("struct: x\nmembers: \x00")  # a NUL: PyYAML's ReaderError printed two lines, without the line
def test_fuzz_layout_yaml(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.yaml"
        path.write_text(text)
        try:
            layouts(overrides=(path,)).resolve("page", preset("x86_64-6.18"))
        except InputError as exc:
            assert str(exc).startswith(str(path)) or "page" in str(exc)
            assert "\n" not in str(exc), str(exc)


@given(st.lists(st.sampled_from([
    "- a: int", "- b: unsigned long\n  if: MEMCG", "- union:\n    - c: int\n    - d: long",
    "- e: struct list_head", "- {f: unsigned int, bits: 3}", "- {g: unsigned int, bits: 40}",
    "- h: void *\n  at: 4", "- i: struct page", "- struct:\n    - j: char", "- k: mm_id_t[2]",
]), min_size=1, max_size=6))
def test_fuzz_member_lists(items: list[str]) -> None:
    """Structured fuzz: member lists either resolve or fail with FILE:LINE."""
    import tempfile

    text = "struct: fuzzed\nmembers:\n" + "\n".join("  " + "\n  ".join(i.split("\n")) for i in items) + "\n"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzzed.yaml"
        path.write_text(text)
        try:
            layout = layouts(overrides=(path,)).resolve("fuzzed", preset("i386-pae-sparsemem"))
        except InputError as exc:
            assert str(exc).startswith(str(path)), str(exc)
            return
        assert layout.size >= max((m.end for m in layout.members), default=0)
        assert layout.size % layout.align == 0
