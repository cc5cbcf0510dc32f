"""The one finding type: kinds and severities checked at construction, `where`
as fields (the old string form still accepted), JSON only through to_json()."""

from __future__ import annotations

import pytest

from mmbits.findings import KINDS, Finding, Severity, Where


def test_unknown_kind_or_severity_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown finding kind 'colision'"):
        Finding("colision", "typo")
    with pytest.raises(ValueError, match="bad severity 'ERROR'"):
        Finding("leak", "m", severity="ERROR")
    assert Finding("leak", "m", severity="warning").severity is Severity.WARNING
    assert "leak" in KINDS


def test_where_string_forms_become_fields() -> None:
    assert Where.parse("ptdesc.pt_flags bit 24") == Where(struct="ptdesc", field="pt_flags", bit=24, bits=(24,))
    w = Where.parse("page.flags bits 25-26")
    assert (w.struct, w.field, w.bit, w.bits) == ("page", "flags", 25, (25, 26))
    mask = Where.parse("ptdesc.pt_flags bit 0x1000000: free_pages")
    assert (mask.bits, mask.detail) == ((24,), "free_pages")
    free = Where.parse("kernel_pgtable_work_func: list loop")
    assert free.struct is None and free.detail == "kernel_pgtable_work_func: list loop"
    assert str(Where.parse("page.flags bits 25-26")) == "page.flags bits 25-26"
    assert str(Where(detail="__free_pages", step=3)) == "__free_pages (step 3)"


def test_keyword_and_positional_construction_and_json() -> None:
    a = Finding(kind="collision", message="m", config="x86_64-maxsmp", where="ptdesc.pt_flags bit 25",
                severity="error", data={"what": "LRU_REFS", "bits": (25, 26)})
    b = Finding("collision", "m", "x86_64-maxsmp", Where(struct="ptdesc", field="pt_flags", bit=25), "error",
                {"what": "LRU_REFS", "bits": (25, 26)})
    assert a == b
    j = a.to_json()
    assert j == {"kind": "collision", "severity": "error", "message": "m", "config": "x86_64-maxsmp",
                 "where": {"struct": "ptdesc", "field": "pt_flags", "bit": 25, "bits": [25], "step": None,
                           "detail": None},
                 "data": {"what": "LRU_REFS", "bits": [25, 26]}}
    assert Finding.from_json(j) == Finding("collision", "m", "x86_64-maxsmp", "ptdesc.pt_flags bit 25", "error",
                                           {"what": "LRU_REFS", "bits": [25, 26]})
    assert a.line() == "ERROR:collision: m [ptdesc.pt_flags bit 25] (config: x86_64-maxsmp)"
