"""`check` answers per kernel release over a domain that spans several (issue #12 item 4):
"unsafe on 6.1-6.9, safe from 6.10", read off the proof's own groups (one release each)."""

from __future__ import annotations

from functools import cache

from mmbits.errors import InputError
from mmbits.kconfig.config import Config
from mmbits.kconfig.domain import Domain
from mmbits.kconfig.model import load_model
from mmbits.kconfig.presets import preset
from mmbits.proposal import Proposal
from mmbits.prover import check
from mmbits.prover.releases import ReleaseTally, summary
from mmbits.prover.text import render
from mmbits.schemas import validate

RELEASES = (6001, 6006, 6009, 6010, 6012, 6018)


@cache
def _at(version: int) -> Config:
    primary = dict(preset("x86_64-defconfig-lru-gen").primary)
    primary.pop("SUBLEVEL", None)
    primary["VERSION"] = version
    return load_model().make(primary)


def _domain() -> Domain:
    return Domain("releases", "one x86_64 defconfig at six releases", [], [_at(v) for v in RELEASES])


def test_pg_slab_is_a_page_flag_until_6_10() -> None:
    """include/linux/page-flags.h: PG_slab is in enum pageflags through v6.9; v6.10's
    "mm: free up PG_slab" makes slab a page type, and the name is gone."""
    r = check(Proposal("BIT(PG_slab)", "page.flags", "slab"), domain=_domain(), lifecycle=False)
    assert r.verdict == "unsafe"
    assert r.by_release == "unsafe on 6.1\u20136.9, unknown from 6.10"
    assert [(t.version, t.verdict) for t in r.releases] == [
        (6001, "unsafe"), (6006, "unsafe"), (6009, "unsafe"), (6010, "unknown"), (6012, "unknown"), (6018, "unknown")]
    assert "by release: unsafe on 6.1\u20136.9, unknown from 6.10" in render(r)
    doc = r.to_json()
    validate("check", doc)
    assert doc["by_release"] == r.by_release and [x["release"] for x in doc["releases"]] == \
        ["6.1", "6.6", "6.9", "6.10", "6.12", "6.18"]


def test_each_release_row_is_what_that_release_alone_says() -> None:
    """A differential: the row for a release counts exactly the configs a proof of that
    release alone calls unsafe, whatever the question."""
    for expr, word, kind in (("BIT(PG_owner_2)", "folio._flags_1", None), ("BIT(PG_head)", "ptdesc.pt_flags",
                                                                           "pgtable"),
                             ("BIT(NR_PAGEFLAGS)", "page.flags", "anon"), ("BIT(0)", "page.page_type", "buddy")):
        r = check(Proposal(expr, word, kind), domain=_domain(), lifecycle=False)
        rows = {t.version: t for t in r.releases}
        assert set(rows) == set(RELEASES) and sum(t.checked for t in rows.values()) == r.configs_checked
        for v in RELEASES:
            try:
                alone = check(Proposal(expr, word, kind), config=_at(v), lifecycle=False)
            except InputError:  # the struct does not exist in that release (ptdesc before 6.6)
                assert rows[v].verdict == "unknown" and rows[v].unsafe == 0, (expr, v)
                continue
            assert rows[v].unsafe == (1 if alone.verdict == "unsafe" else 0), (expr, v, alone.verdict)


def test_one_release_says_nothing_per_release() -> None:
    r = check(Proposal("BIT(PG_head)", "ptdesc.pt_flags", "pgtable"), config=_at(6018), lifecycle=False)
    assert r.by_release == "" and r.to_json()["by_release"] == ""
    assert "by release" not in render(r)


def test_runs_are_read_oldest_first() -> None:
    def rows(*verdicts: str) -> list[ReleaseTally]:
        out = []
        for v, verdict in zip(RELEASES, verdicts, strict=False):
            out.append(ReleaseTally(v, 1, int(verdict == "unsafe"), int(verdict == "unknown")))
        return out

    assert summary(rows("unsafe", "unsafe", "unsafe", "safe", "safe", "safe")) == "unsafe on 6.1\u20136.9, safe from 6.10"
    assert summary(rows("safe", "unsafe", "safe")) == "safe on 6.1, unsafe on 6.6, safe on 6.9"
    assert summary(rows("safe", "safe")) == "safe on every release checked (6.1\u20136.6)"
    assert summary(rows("unsafe")) == ""
