"""Properties: verdicts do not depend on options the question cannot read; proposal
files and expressions never crash the prover."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from mmbits.errors import InputError
from mmbits.kconfig.model import load_model
from mmbits.proposal import Proposal, load_proposal
from mmbits.prover import check
from mmbits.strategies import bit_expressions, configs

FLAG_WORDS = ["page.flags", "ptdesc.pt_flags", "slab.flags", "folio._flags_1"]
IRRELEVANT = ["MEMCG", "DEBUG_SPINLOCK", "IOMMU_SVA", "KMSAN"]


def _flip(config, symbol):  # type: ignore[no-untyped-def]
    values = dict(config.primary)
    values[symbol] = 0 if values.get(symbol) else 1
    model = load_model()
    try:
        return model.make(values)
    except InputError:
        return None


def _summary(result):  # type: ignore[no-untyped-def]
    return result.verdict, sorted((f.kind, f.severity, f.data.get("what")) for f in result.findings)


@given(configs(), st.sampled_from(FLAG_WORDS), st.sampled_from(IRRELEVANT), bit_expressions(64))
def test_flags_word_verdict_ignores_irrelevant_options(config, word, symbol, expr) -> None:  # type: ignore[no-untyped-def]
    other = _flip(config, symbol)
    if other is None:
        return
    try:
        a = check(Proposal(expr, word, "pgtable"), config=config, lifecycle=False)
    except InputError:
        return  # a name absent everywhere in this config family
    b = check(Proposal(expr, word, "pgtable"), config=other, lifecycle=False)
    assert _summary(a) == _summary(b)


KEYS = ["proposal", "expr", "word", "kind", "set_at", "test_at", "clear_at", "doc", "bogus"]


@given(st.dictionaries(st.sampled_from(KEYS), st.one_of(
    st.text(max_size=30), st.integers(-5, 70), st.none(), st.booleans(),
    st.sampled_from(["BIT(NR_PAGEFLAGS)", "page.flags", "ptdesc.__page_type", "kernel-pgtable", "ctor",
                     "PG_referenced", "(1UL << 24) - 1", "ptdesc->x | BIT(0)", "memdesc.type"])), max_size=8))
# found by the fuzz profile through the CLI: the prover's errors did not name the proposal file
@example({"expr": "BIT(0)", "word": "qtdesc.pt_flags"})
@example({"expr": "BIT(", "word": "ptdesc.pt_flags"})
def test_fuzzed_proposal_files_give_input_errors_only(doc) -> None:  # type: ignore[no-untyped-def]
    import yaml

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "p.yaml"
        path.write_text(yaml.safe_dump(doc))
        try:
            p = load_proposal(path)
            from mmbits.kconfig.presets import preset

            r = check(p, config=preset("x86_64-6.18"), lifecycle=False)
        except InputError as exc:
            assert exc.file == str(path), str(exc)
            return
        assert r.verdict in ("safe", "unsafe")


@given(st.text(alphabet="()|&~<>+-*/!?:,0123456789xXuUlL BITNRPGAEFSbcdeknrt_", max_size=40))
@example("08")  # found by the fuzz profile: int("08", 8) raised ValueError, not an InputError
def test_fuzzed_expressions_give_input_errors_only(expr) -> None:  # type: ignore[no-untyped-def]
    from mmbits.kconfig.presets import preset

    try:
        r = check(Proposal(expr, "page.flags"), config=preset("x86_64-6.18"), lifecycle=False)
    except InputError:
        return
    assert r.verdict in ("safe", "unsafe")
