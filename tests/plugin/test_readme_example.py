"""The plugin example in the README runs, as a user would paste it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_plugin_example_passes(pytester: pytest.Pytester) -> None:
    text = README.read_text()
    section = text.split("## Testing your own idea under pytest", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "the README's plugin section has no python example"
    pytester.makepyfile(test_readme=blocks[0])
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    tests = blocks[0].count("\ndef test_")
    result.assert_outcomes(passed=tests - 1, failed=1)  # the first one is meant to fail, and teach
    result.stdout.fnmatch_lines(["*UNSAFE: BIT(NR_PAGEFLAGS) in ptdesc.pt_flags (kernel-pgtable)*",
                                 "*FAILED*test_my_bit_is_free*"])
    assert "def assert_bit_free" not in result.stdout.str()  # the helper's frame is hidden
    assert "page.flags bits 25-26 = LRU_REFS" in result.stdout.str()
