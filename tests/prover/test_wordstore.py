"""A word's sites and a domain's relevant symbols kept on disk (prover.wordstore): read
back they answer as computed, and an entry that is not what was written is a miss."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mmbits.kconfig.domain import load_domain
from mmbits.proposal import Proposal
from mmbits.prover import check, engine, wordstore
from mmbits.prover.analyse import prepare, relevant_symbols

WORDS = [("ptdesc", "pt_flags"), ("page", "flags"), ("folio", "_flags_1"), ("page", "mapping"),
         ("ptdesc", "__page_type")]


def _answer(expr: str, word: str) -> dict[str, Any]:
    engine._GROUPS.clear()
    out = check(Proposal(expr, word, None), domain=load_domain("arm32"), lifecycle=False).to_json()
    out.pop("elapsed_seconds", None)
    return out


@pytest.fixture
def words(private_cache: Path) -> Any:
    wordstore._NEW.clear()  # what earlier tests of this process resolved is not this test's
    yield private_cache / "words"
    wordstore._NEW.clear()


@pytest.mark.parametrize(("struct", "word"), WORDS)
def test_sites_read_back_are_the_sites_resolved(words: Path, struct: str, word: str) -> None:
    prover = prepare(Proposal("BIT(1)", f"{struct}.{word}"))
    for g in load_domain("lts").groups({"ARCH", "VERSION"}):  # absent before 6.6, renamed in 6.18
        prover.site_of(g.config)
    assert prover._sites
    wordstore.save()
    assert wordstore.load_sites(prover.struct, prover.word) == prover._sites


def test_answers_with_the_word_store_are_the_answers_without(words: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _answer("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags")
    wordstore.save()
    assert len(list(words.iterdir())) == 2  # the sites and the relevant symbols
    again = _answer("BIT(NR_PAGEFLAGS+2)", "ptdesc.pt_flags")
    with monkeypatch.context() as m:
        m.setenv("MMBITS_CACHE", "off")
        fresh = _answer("BIT(NR_PAGEFLAGS+2)", "ptdesc.pt_flags")
    assert again == fresh and first["groups"] == again["groups"]


@pytest.mark.parametrize("damage", ["type", "length", "key", "struct"])
def test_a_sites_entry_that_is_not_sites_is_a_miss(words: Path, damage: str) -> None:
    prover = prepare(Proposal("BIT(1)", "ptdesc.pt_flags"))
    for g in load_domain("arm32").groups({"ARCH"}):
        prover.site_of(g.config)
    wordstore.save()
    entry = next(p for p in words.iterdir() if json.loads(p.read_text())["magic"] == wordstore.MAGIC_SITES)
    doc = json.loads(entry.read_text())
    key, fields = doc["body"]["sites"][0]
    if damage == "type":
        fields[3] = str(fields[3])  # bits as a string
    elif damage == "length":
        fields.pop()
    elif damage == "key":
        key.append([1])
    else:
        fields[0] = "page"
    entry.write_text(json.dumps(doc))
    assert wordstore.load_sites("ptdesc", "pt_flags") == {}


def test_relevant_symbols_read_back(words: Path) -> None:
    dom = load_domain("arm32")
    prover = prepare(Proposal("BIT(NR_PAGEFLAGS)", "ptdesc.pt_flags"))
    computed = relevant_symbols(prover, dom)
    assert relevant_symbols(prover, dom) == computed  # read back
    key = wordstore.relevant_key(dom, prover.struct, prover.word, (prover.xp.config_dependent(), False))
    assert wordstore.load_relevant(key) == computed
