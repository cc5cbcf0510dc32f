"""A patch's cost grows with its distinct meanings, not its lines (issue #16): proposals
that ask the same question share one proof, and sharing never changes what is printed."""

from __future__ import annotations

from typing import Any

import pytest

from mmbits.kconfig.presets import preset
from mmbits.patch import parse, scan_patches
from mmbits.patch import scan as scan_mod
from mmbits.patch.scan import meaning_key
from mmbits.proposal import Proposal

from util.hostile import MACRO_BODIES, MACRO_WORDS, many_macros

PRESET = "x86_64-6.18"


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[Proposal]:
    calls: list[Proposal] = []
    real = scan_mod.check

    def counted(proposal: Proposal, **kw: Any) -> Any:
        calls.append(proposal)
        return real(proposal, **kw)

    monkeypatch.setattr(scan_mod, "check", counted)
    return calls


def _scan(text: bytes | str) -> Any:
    (rep,) = scan_patches(parse(text, "t.patch"), config=preset(PRESET), source=PRESET)
    return rep


def _shown(rep: Any) -> list[tuple[str, str, str]]:
    return [(f.level, f.type, f.message) for f in rep.findings]


def test_a_thousand_macros_cost_one_proof_per_meaning(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    rep = _scan(many_macros(1000))
    # each body is used on one word per define, cycling: a meaning is (body, word)
    meanings = {(MACRO_BODIES[i % len(MACRO_BODIES)], MACRO_WORDS[i % len(MACRO_WORDS)]) for i in range(1000)}
    assert len(calls) == len(meanings) == 24
    assert len(rep.proposals) == 1000
    # every candidate keeps its own proposal and label in the report
    assert {p.proposal.expr for p in rep.proposals} == {f"MMBITS_HOSTILE_FLAG_{i:04d}" for i in range(1000)}
    assert any(f.message.startswith("MMBITS_HOSTILE_FLAG_0999 = ") for f in rep.findings)


def test_shared_answers_print_what_separate_runs_print(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sixteen defines scanned together print, define by define, what each prints alone."""
    together = _scan(many_macros(16))
    lines = many_macros(16).decode().splitlines()
    head, body = lines[:4], lines[4:]
    calls = _counting(monkeypatch)
    for i in range(16):
        alone = "\n".join([*head[:2], head[2].replace("+1,33", "+1,3"), head[3], *body[2 * i:2 * i + 2]]) + "\n"
        rep = _scan(alone)
        # define i is new-file line 2 + 2i there, 2 here; its use the line after
        mine = [(f.site.line - 2 * i, *x) for f, x in zip(together.findings, _shown(together), strict=True)
                if f.site.line in (2 + 2 * i, 3 + 2 * i)]
        assert mine
        assert sorted(mine) == sorted((f.site.line, *x) for f, x in zip(rep.findings, _shown(rep), strict=True)), i
    assert len(calls) == 16  # separate scans share nothing


def test_answers_that_quote_a_macro_are_not_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    # `1 << 31` overflows int: the problem is reported under the macro's own name
    text = ("--- a/mm/x.c\n+++ b/mm/x.c\n@@ -1,1 +1,5 @@ void f(struct page *page)\n x\n"
            "+#define AAA_BIT (1 << 31)\n+#define BBB_BIT (1 << 31)\n"
            "+\tpage->flags.f |= AAA_BIT;\n+\tpage->flags.f |= BBB_BIT;\n")
    calls = _counting(monkeypatch)
    rep = _scan(text)
    assert len(calls) == 2
    for name in ("AAA_BIT", "BBB_BIT"):
        other = "BBB_BIT" if name == "AAA_BIT" else "AAA_BIT"
        mine = [f.message for f in rep.findings if f.message.startswith(f"{name} = ")]
        assert mine and all(other not in m for m in mine), mine


def test_meaning_is_the_parsed_question_not_its_spelling() -> None:
    w = "page.flags"
    # spacing and macro names do not matter; the macro body does
    assert meaning_key(Proposal("A", w), {"A": "BIT(3)"}, ()) == meaning_key(Proposal("B", w), {"B": "BIT(3)"}, ())
    assert meaning_key(Proposal("BIT( 3 )", w), {}, ()) == meaning_key(Proposal("BIT(3)", w), {}, ())
    assert meaning_key(Proposal("A", w), {"A": "BIT(3)"}, ()) != meaning_key(Proposal("A", w), {"A": "BIT(4)"}, ())
    # a literal's spelling is its C type: 1U and 1 are different questions
    assert meaning_key(Proposal("1U << 3", w), {}, ()) != meaning_key(Proposal("1 << 3", w), {}, ())
    # `#define A PG_head` used as a mask is the bit number 6, `PG_head` alone is BIT(PG_head)
    assert meaning_key(Proposal("A", w), {"A": "PG_head"}, ()) != meaning_key(Proposal("PG_head", w), {}, ())
    # the word, the kind and the new flags are part of the question
    assert meaning_key(Proposal("BIT(3)", w), {}, ()) != meaning_key(Proposal("BIT(3)", "folio._flags_1"), {}, ())
    assert meaning_key(Proposal("BIT(3)", w, "slab"), {}, ()) != meaning_key(Proposal("BIT(3)", w, "anon"), {}, ())
    assert meaning_key(Proposal("BIT(PG_x)", w), {}, ("PG_x",)) != meaning_key(Proposal("BIT(PG_x)", w), {}, ())
    # a name the rules read (an existing alias, a page type) is part of it; a new one is a label
    assert meaning_key(Proposal("BIT(11)", w, None, "PG_owner_2"), {}, ()) != \
        meaning_key(Proposal("BIT(11)", w, None, "MY_NEW_BIT"), {}, ())
    assert meaning_key(Proposal("BIT(11)", w, None, "MY_NEW_BIT"), {}, ()) == \
        meaning_key(Proposal("BIT(11)", w, None, "OTHER_NEW_BIT"), {}, ())
    assert meaning_key(Proposal("0xf9", "page.page_type", None, "PGTY_x"), {}, ()) != \
        meaning_key(Proposal("0xf9", "page.page_type", None, "TY_x"), {}, ())
    # a macro that expands to itself has no meaning to share
    assert meaning_key(Proposal("A", w), {"A": "A + 1"}, ()) is None
