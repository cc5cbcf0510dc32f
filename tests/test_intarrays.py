"""Integer columns as array bytes in cache entries (mmbits.intarrays)."""

from __future__ import annotations

import marshal
from typing import Any

import pytest

from mmbits import intarrays


@pytest.mark.parametrize("values", [[], [0], [-1, 127], [128, -129], [1 << 20, -5], [1 << 40, -(1 << 40)]])
def test_a_column_reads_back_as_written(values: list[int]) -> None:
    doc = marshal.loads(marshal.dumps(intarrays.pack(values)))  # as a cache entry keeps it
    assert list(intarrays.unpack(doc)) == values


def test_rows_read_back_as_written() -> None:
    rows = [[3, 5, 7], [], [0], [-2, 300, 70000, 1]]
    assert [list(r) for r in intarrays.unpack_rows(intarrays.pack_rows(rows))] == rows
    assert intarrays.unpack_rows(intarrays.pack_rows([])) == []


@pytest.mark.parametrize("doc", [None, [1, 2, 3], ["x", b""], ["h", "ab"], ["h", b"abc"], ["q", [1, 2]]])
def test_what_pack_did_not_make_is_refused(doc: Any) -> None:
    with pytest.raises(ValueError):
        intarrays.unpack(doc)


def test_rows_whose_lengths_do_not_add_up_are_refused() -> None:
    good = intarrays.pack_rows([[1, 2], [3]])
    with pytest.raises(ValueError):
        intarrays.unpack_rows([good[0], intarrays.pack([2, 2])])
    with pytest.raises(ValueError):
        intarrays.unpack_rows([good[0], intarrays.pack([4, -1])])
