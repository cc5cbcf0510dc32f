"""cachedir.save_at_exit / save_now: the stores that gather answers during a run write them
once, each writer however often it asks; a forked child (decode/parallel.py, which leaves
by os._exit) writes every store's new answers with one call (tests/flags/test_mask_store.py
checks that call writes a real store's entry)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mmbits import cachedir


@pytest.fixture
def no_writers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """An empty writer list and an atexit that records what it is given."""
    registered: list[str] = []
    monkeypatch.setattr(cachedir, "_exit_saves", [])
    monkeypatch.setattr(cachedir.atexit, "register", lambda fn: registered.append(fn.__name__))
    yield registered


def test_each_writer_once_and_one_exit_handler(no_writers: list[str]) -> None:
    calls: list[str] = []

    def writer(name: str) -> Callable[[], None]:
        def save() -> None:
            calls.append(name)
        return save

    first, second = writer("first"), writer("second")
    for save in (first, second, first, first, second):
        cachedir.save_at_exit(save)
    assert no_writers == ["save_now"]
    cachedir.save_now()
    assert calls == ["first", "second"]



@pytest.mark.parametrize("what", [None, "expression trees", "", 'a "quoted" one', "back\\slash", "tab\there",
                                  "caf\u00e9", "\x7f", ["domain", 3], {"b": 1, "a": (2, None)}, 7, True])
def test_a_key_is_spelled_as_json_spells_it(what: object) -> None:
    """entry_name's text of a key: json.dumps's, whether spelled without json (None, plain
    strings) or by it, so every store's entry names stay what they were."""
    import json

    assert cachedir._key_text(what) == json.dumps(what, sort_keys=True, default=repr)
