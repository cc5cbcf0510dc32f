"""The example reports committed under reports/, and how to regenerate them.

`python -m pagebits.report.examples [DIR]` rewrites them (default: reports/);
tests/report/test_examples.py regenerates them into a temporary directory and
compares byte for byte, so the committed files always match the code. To add
an example (a seed's proposal through `pagebits check`, a `simulate` variant),
append a writer to EXAMPLES.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from pagebits.report.api import write_layout_report


def _layout(fmt: str) -> Callable[[Path], list[Path]]:
    def write(out: Path) -> list[Path]:
        from pagebits.kconfig.presets import preset

        return write_layout_report(out, fmt, preset("x86_64-6.18"), "default")

    return write


# name -> writer(out_dir) returning the files written
EXAMPLES: dict[str, Callable[[Path], list[Path]]] = {
    "layout report of the reference kernel (HTML)": _layout("html"),
    "layout report of the reference kernel (Markdown)": _layout("md"),
}


def write_examples(out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    written: list[Path] = []
    for writer in EXAMPLES.values():
        written.extend(writer(out))
    return written


if __name__ == "__main__":
    for path in write_examples(sys.argv[1] if len(sys.argv) > 1 else "reports"):
        print(path)
