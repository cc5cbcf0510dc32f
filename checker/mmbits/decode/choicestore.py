"""On-disk memo of decode's config inference, so a new process does not solve again the
configs of the kernels it has seen.

Solving a report's config (decode/infer.py `_choose`: the packings that print the flags
line, each candidate built and checked by the Kconfig model, struct page resolved for its
size, and once per release the model has for a report naming none) is the cost of a
log's first report of each kernel: most of a short log's decode, and in a long log the
time before decode/parallel.py can fork. The answer is a pure function of what `_choose`
reads (the flags value and text, word size, byte order, struct page size, arch hint,
release), the layouts data and the code, so it is kept by that key in one entry named by
a BLAKE2b-256 of the code stamp and the data stamp (edited code or data misses). An entry
holds the config's primary symbols and name (the model completes them again: a Config is
its primary), how it was found, the note and the alternatives: plain data in
`cachedir.store_data`'s format (marshal behind its digest; JSON until importing `json` was
found to be ~2% of a one-report decode), bound to its key, read and written only through
`cachedir`; a damaged entry or one of the wrong shape is a miss; new
answers are written once, when the process exits. MMBITS_CACHE=off turns it off.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mmbits.cachedir import entry_name, load_data, save_at_exit, store_data

if TYPE_CHECKING:
    from mmbits.decode.infer import ConfigChoice

MAGIC = "mmbits-decode-choices 2"
SUB = "decode"
MAX_BYTES = 16 * 1024 * 1024
# what this process read from its entry and what it solved, by the environment that places the
# cache and the layouts (a test may point them elsewhere within one process)
_BODIES: dict[tuple[str | None, ...], dict[str, Any]] = {}
_NEW: dict[tuple[str | None, ...], dict[str, Any]] = {}
_ENV = ("MMBITS_CACHE", "MMBITS_CACHE_DIR", "XDG_CACHE_HOME", "HOME", "MMBITS_LAYOUTS")


_NAMES: dict[tuple[str | None, ...], str | None] = {}


def _where() -> tuple[tuple[str | None, ...], str | None]:
    """The environment placing the entry, and the entry's name there (worked out once per
    environment: each lookup and each answer kept asks)."""
    env = tuple(os.environ.get(v) for v in _ENV)
    if env not in _NAMES:
        _NAMES[env] = entry_name(SUB, None)
    return env, _NAMES[env]


def _body(env: tuple[str | None, ...], name: str) -> dict[str, Any]:
    found = _BODIES.get(env)
    if found is None:
        found = _BODIES[env] = load_data(SUB, name, MAGIC, "body", MAX_BYTES) or {}
    return found


def lookup(key: tuple[object, ...]) -> ConfigChoice | None:
    """The stored answer for `_choose`'s arguments, or None."""
    env, name = _where()
    if name is None:
        return None
    entry = _body(env, name).get(repr(key))
    return None if entry is None else _choice(entry)


def keep(key: tuple[object, ...], choice: ConfigChoice) -> None:
    """Remember an answer this process solved, for its exit."""
    env, name = _where()
    if name is None:
        return
    _NEW.setdefault(env, {})[repr(key)] = {
        "primary": dict(choice.config.primary), "name": choice.config.name, "how": choice.how,
        "note": choice.note, "presets": list(choice.presets), "alternatives": list(choice.alternatives)}
    save_at_exit(save)


def save() -> None:
    """Write what this process solved into its entry (merged with what the entry holds)."""
    for env, new in list(_NEW.items()):
        _env, name = _where()
        if name is None or _env != env:
            continue
        _BODIES.pop(env, None)
        body = {**_body(env, name), **new}
        store_data(SUB, name, MAGIC, "body", body)
        _BODIES[env] = body
    _NEW.clear()


def _choice(entry: object) -> ConfigChoice | None:
    """The ConfigChoice an entry holds; None when it is not one (a miss)."""
    from mmbits.decode.infer import ConfigChoice
    from mmbits.errors import InputError
    from mmbits.kconfig.model import load_model

    if not isinstance(entry, dict):
        return None
    primary, name, how, note = entry.get("primary"), entry.get("name"), entry.get("how"), entry.get("note")
    presets, alternatives = entry.get("presets"), entry.get("alternatives")
    if not (isinstance(primary, dict) and all(type(v) in (int, str) for v in primary.values())
            and (name is None or isinstance(name, str)) and isinstance(how, str) and isinstance(note, str)
            and isinstance(presets, list) and all(isinstance(p, str) for p in presets)
            and isinstance(alternatives, list)
            and all(isinstance(a, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in a.items())
                    for a in alternatives)):
        return None
    model = load_model()
    if not all(k in model.symbols or k == "ARCH" for k in primary):
        return None
    try:
        config = model.make_unchecked(primary, name=name)
    except (InputError, KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return ConfigChoice(config, how, note, presets, alternatives)
