"""Integer columns kept in cache entries (`cachedir.store_data`) as the bytes of an
`array.array`, not as marshal lists of ints.

A new question reads the class partition and table of its word back from disk: about
60,000 small ints. As lists, marshal read each int as an object and the loader then had
to check every item's type in Python (a stored entry is data, and data that is not what we
wrote must be a miss); as array bytes the entry is a third the size, marshal copies one
bytes object per column, and the array made from it holds ints by construction, so the
checks left are lengths and ranges (C-level `min`/`max`). Byte order is the machine's:
`FORMAT` goes into the keys or magic of the entries that hold such columns.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from itertools import accumulate, chain
from typing import Any

FORMAT = f"int-arrays {sys.byteorder}"
_TYPECODES = ("b", "h", "i", "q")  # the smallest that holds a column is kept


def pack(values: Sequence[int]) -> list[Any]:
    """[typecode, bytes]: `values` as the smallest signed array type holding them."""
    import struct

    for code in _TYPECODES:
        try:
            # struct's native format is the array's item (array(code, values) converts each item
            # through argument parsing, and a min() and max() first were as much again)
            return [code, struct.pack(f"{len(values)}{code}", *values)]
        except struct.error:
            continue  # an item out of this type's range
    raise OverflowError("an integer column past 64 bits")


def unpack(doc: Any) -> array[int]:
    """The array `pack` made; ValueError for anything else (the entry is then a miss)."""
    if type(doc) is not list or len(doc) != 2 or doc[0] not in _TYPECODES or type(doc[1]) is not bytes:
        raise ValueError("not an integer column")
    out = array(doc[0])
    out.frombytes(doc[1])  # ValueError unless a whole number of items
    return out


def pack_rows(rows: Sequence[Sequence[int]]) -> list[Any]:
    """Rows of ints as one column of their items and one of their lengths."""
    return [pack(list(chain.from_iterable(rows))), pack(list(map(len, rows)))]


def unpack_rows(doc: Any) -> list[array[int]]:
    """The rows `pack_rows` made, each an array; ValueError for anything else."""
    if type(doc) is not list or len(doc) != 2:
        raise ValueError("not integer rows")
    flat, lengths = unpack(doc[0]), unpack(doc[1])
    if len(lengths) and min(lengths) < 0 or sum(lengths) != len(flat):
        raise ValueError("integer rows of another length")
    ends = list(accumulate(lengths))
    return list(map(flat.__getitem__, map(slice, [0, *ends[:-1]] if ends else [], ends)))
