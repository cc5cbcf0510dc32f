"""The dump_page parser's own cost, for callgrind (run by hand):

    PYTHONHASHSEED=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        python bench/bench_parse_lines.py LOG parse    # scan + parse
    ... python bench/bench_parse_lines.py LOG scan     # scan only

The difference of the two instruction counts is what records_with_next costs on the
scanned lines of LOG (decode/scan.py hands the parser only the lines it may read).
"""

from __future__ import annotations

import sys

from mmbits.decode.parse import records_with_next
from mmbits.decode.scan import scan_blocks
from mmbits.inputs import iter_text_blocks


def main() -> None:
    path, what = sys.argv[1], sys.argv[2]
    lines = list(scan_blocks(iter_text_blocks(path, "x", block=1 << 18), False))
    reports = sum(1 for _ in records_with_next(lines, "x")) if what == "parse" else 0
    print(len(lines), reports)


if __name__ == "__main__":
    main()
