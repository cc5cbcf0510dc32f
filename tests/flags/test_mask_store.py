"""flags.store: the masks a process computed are read back by the next one, equal to what
the formulas give; an entry that is not this code's and data's, or not a name -> int map,
is never used."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbits.cachedir import decode_entry, encode_entry
from mmbits.flags import packing, store
from mmbits.flags.data import load_flag_data
from mmbits.kconfig.domain import load_domain


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MMBITS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("MMBITS_CACHE", raising=False)
    _forget()
    yield tmp_path
    _forget()


def _forget() -> None:
    """What a new process would not have in memory."""
    store._SHARDS.clear()
    store._NEW.clear()
    packing._MASKS.clear()
    packing._by_inputs.cache_clear()
    packing._by_derived.cache_clear()
    packing._core.cache_clear()


def _words() -> list[packing.FlagsWord]:
    return [packing.compute(g.config) for g in load_domain("arm32").groups(packing.INPUT_SYMBOLS)]


def test_stored_masks_equal_the_formulas(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    computed = [dict(w.masks) for w in _words()]
    store.save()
    assert list((fresh / "masks").iterdir())
    _forget()
    reads: list[bool] = []
    real = store.masks

    def spy(key: tuple[object, ...]) -> dict[str, int] | None:
        found = real(key)
        reads.append(found is not None)
        return found

    monkeypatch.setattr(store, "masks", spy)
    again = [dict(w.masks) for w in _words()]
    assert reads and all(reads)  # every mask set came from the store
    assert again == computed
    data = load_flag_data()
    assert all(packing._compute_masks(w, data) == m for w, m in zip(_words(), again, strict=True))


def test_a_foreign_or_corrupt_shard_is_a_miss(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    word = _words()[0]
    key = packing._mask_key(word, load_flag_data())
    assert key is not None
    truth = dict(word.masks)
    store.save()
    (shard,) = [p for p in (fresh / "masks").iterdir() if p.name == f"{store._name(key[0])}.data"]
    raw = shard.read_bytes()
    # an entry under a name that is not its own (another code or data version's, swapped
    # in): bound to its key, it is never read
    other = fresh / "masks" / f"{'0' * 64}.data"
    other.write_bytes(raw)
    monkeypatch.setattr(store, "_name", lambda shape: "0" * 64)
    _forget()
    assert store.masks(key) is None
    monkeypatch.undo()
    monkeypatch.setenv("MMBITS_CACHE_DIR", str(fresh))
    # a value that is not an int: recomputed, and the answer is the formulas'
    doc = decode_entry(raw)
    doc["body"][repr(key[1:])]["PAGE_FLAGS_SECOND"] = "x"  # the entry store.masks reads for this key
    shard.write_bytes(encode_entry(doc))
    _forget()
    assert store.masks(key) is None
    assert dict(_words()[0].masks) == truth
    # not an entry at all, and one whose payload is not what was written with its digest
    shard.write_text("{")
    _forget()
    assert store.masks(key) is None and dict(_words()[0].masks) == truth
    shard.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    _forget()
    assert store.masks(key) is None and dict(_words()[0].masks) == truth


def test_no_store_with_the_cache_off(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMBITS_CACHE", "off")
    _forget()
    assert [dict(w.masks) for w in _words()]
    store.save()
    assert not (fresh / "masks").exists()


def test_save_now_writes_the_new_masks(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a forked decode child (os._exit: no atexit handler) does to keep its masks."""
    from mmbits import cachedir

    monkeypatch.setattr(cachedir, "_exit_saves", [])
    monkeypatch.setattr(cachedir.atexit, "register", lambda fn: None)
    assert all(w.masks for w in _words())
    assert store._NEW and store.save in cachedir._exit_saves
    assert not (fresh / "masks").exists() or not list((fresh / "masks").iterdir())
    cachedir.save_now()
    assert not store._NEW
    assert list((fresh / "masks").iterdir())
