"""Kernel releases as the VERSION config symbol (MAJOR * 1000 + MINOR).

Every data file writes a change once, where it happened: `if: VERSION >= 6.15`
or the `since:`/`until:` keys, which this module folds into one condition.
`since: "6.10"` means the thing exists from 6.10 on; `until: "6.12"` means it
was removed in 6.12 (present up to 6.11). Release numbers are quoted in YAML
because an unquoted 6.10 is the float 6.1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mmbits.cexpr import version_number
from mmbits.errors import InputError

_RELEASE = re.compile(r"^v?(\d{1,2})\.(\d{1,3})(?:[.\-+~_].*)?$")


def parse_release(raw: object, where: str = "") -> int:
    """'6.12', 'v6.12', '6.12.117', '6.12.0-rc3', '6.12.19-amd64' or 6012 -> 6012."""
    if isinstance(raw, bool):
        raise InputError(f"{where}expected a kernel release like 6.12, got {raw!r}")
    if isinstance(raw, int):
        if raw >= 1000:
            return raw
        raise InputError(f"{where}expected a kernel release like 6.12, got {raw!r}")
    if isinstance(raw, float):
        raise InputError(f"{where}quote the release ({raw!r}): an unquoted 6.10 reads as 6.1")
    m = _RELEASE.match(str(raw).strip())
    if not m:
        raise InputError(f"{where}expected a kernel release like 6.12, got {str(raw)[:40]!r}")
    return version_number(f"{m.group(1)}.{m.group(2)}")


def release_name(value: int) -> str:
    """6012 -> '6.12'."""
    return f"{value // 1000}.{value % 1000}"


def guard(spec: Mapping[str, object], where: str = "") -> str | None:
    """The `if:` condition of a data entry with its `since:`/`until:` folded in, or None."""
    parts: list[str] = []
    if spec.get("if") is not None:
        cond = spec["if"]
        parts.append(f"({int(cond) if isinstance(cond, bool) else cond})")
    if spec.get("since") is not None:
        parts.append(f"VERSION >= {parse_release(spec['since'], where + 'since: ')}")
    if spec.get("until") is not None:
        parts.append(f"VERSION < {parse_release(spec['until'], where + 'until: ')}")
    if not parts:
        return None
    if len(parts) == 1 and spec.get("if") is not None:
        return parts[0][1:-1]  # a plain `if:` stays as written
    return " && ".join(parts)
