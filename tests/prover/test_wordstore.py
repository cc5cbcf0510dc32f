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
    assert len(list(words.iterdir())) == 3  # the word, its sites and the relevant symbols
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


# -- a known word and its site's symbols -----------------------------------------------------

def _fresh_layouts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """prepare() gets a layout set of its own that says when it reads the layout files."""
    from mmbits.layout import registry
    from mmbits.prover import analyse

    reads: list[int] = []
    shipped = registry.layouts()

    def load() -> Any:
        reads.append(1)
        return shipped.types, shipped.specs

    monkeypatch.setattr(analyse, "layouts", lambda: registry.LayoutSet(shipped.version, load=load))
    return reads


@pytest.mark.parametrize(("struct", "word"), WORDS)
def test_a_known_word_is_read_back_without_the_layout_files(words: Path, monkeypatch: pytest.MonkeyPatch,
                                                             struct: str, word: str) -> None:
    reads = _fresh_layouts(monkeypatch)
    first = prepare(Proposal("BIT(1)", f"{struct}.{word}"))
    assert reads  # checked against the layouts, and kept
    reads.clear()
    again = prepare(Proposal("BIT(2)", f"{struct}.{word}"))
    assert not reads
    assert (again.site_syms, again._site_env_keys, again._needs_env) == \
        (first.site_syms, first._site_env_keys, first._needs_env)


@pytest.mark.parametrize("damage", ["not a list", "not names", "foreign", "not json"])
def test_a_word_entry_that_is_not_one_is_checked_again(words: Path, monkeypatch: pytest.MonkeyPatch,
                                                       damage: str) -> None:
    reads = _fresh_layouts(monkeypatch)
    first = prepare(Proposal("BIT(1)", "ptdesc.pt_flags"))
    entry = next(p for p in words.iterdir() if json.loads(p.read_text())["magic"] == wordstore.MAGIC_WORD)
    doc = json.loads(entry.read_text())
    if damage == "not a list":
        doc["body"]["site_symbols"] = "ARCH"
    elif damage == "not names":
        doc["body"]["site_symbols"].append(1)
    elif damage == "foreign":
        doc["key"] = "0" * 64
    entry.write_text("[" if damage == "not json" else json.dumps(doc))
    reads.clear()
    again = prepare(Proposal("BIT(2)", "ptdesc.pt_flags"))
    assert reads, damage  # the layouts read again
    assert again.site_syms == first.site_syms


def test_an_unknown_word_is_bad_input_and_not_kept(words: Path) -> None:
    from mmbits.errors import InputError

    with pytest.raises(InputError, match="no word"):
        prepare(Proposal("BIT(1)", "ptdesc.pt_flagz"))
    assert not words.exists() or not any(json.loads(p.read_text())["magic"] == wordstore.MAGIC_WORD
                                         for p in words.iterdir())
