"""What a new process would recompute per word of the shipped layouts, kept on disk: the
word's sites by site key (`Prover.site_of`), the symbols a domain's proof groups on
(`analyse.relevant_symbols`), and that the word is one of its struct's with the symbols its
site reads (`analyse.prepare`: the layout files are then not read at all).

A site is resolved from the struct's layout and struct page's for the config's site
inputs: over every release and arch 315 distinct inputs, each a layout resolution of a
few milliseconds, so most of a new question's second over `--domain everything` went to
sites the previous process had already found; finding the relevant symbols probed them
all again. Both are pure functions of the code, the layouts data in use and the word (and
for the symbols: the domain's parts and two facts of the question, `relevant_key`), so
each entry is named by a BLAKE2b-256 of the code stamp, the data stamp and those, as every
mmbits cache (`cachedir`): JSON bound to its key, read and written only through
`cachedir` (own regular files, O_NOFOLLOW, mkstemp 0600, private directories); an entry
that does not parse as what it holds is a miss. New sites are written when the process
exits. MMBITS_CACHE=off turns it off; a proof with its own layout set never uses it.
"""

from __future__ import annotations

from typing import Any

from mmbits.prover.site import Other, Site

MAGIC_SITES = "mmbits-sites 1"
MAGIC_RELEVANT = "mmbits-relevant 1"
MAGIC_WORD = "mmbits-word 1"
SUB = "words"
MAX_ENTRY_BYTES = 16 * 1024 * 1024

# Site's fields in order, with the JSON type each must have (`others` apart)
_FIELDS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("struct", (str,)), ("word", (str,)), ("exists", (bool,)), ("bits", (int,)), ("bit_offset", (int,)),
    ("storage_bits", (int,)), ("page_index", (int,)), ("page_offset", (int,)), ("overlay", (bool,)),
    ("anchor", (str, type(None))), ("anchor_bits", (int,)), ("anchor_shift", (int,)), ("role", (str,)),
    ("rule_pages", (str,)), ("others", (list,)), ("member_type", (str,)))
_SCALARS = (bool, int, str, type(None))
_OTHERS = [name for name, _ in _FIELDS].index("others")  # stored as lists, not Other tuples

_NEW: dict[str, tuple[str, str, dict[tuple[Any, ...], Site]]] = {}  # entry name -> new sites


def _name(kind: str, what: Any) -> str | None:
    from mmbits.cachedir import entry_name

    return entry_name(SUB, [kind, what])


# -- sites ------------------------------------------------------------------------------

def load_sites(struct: str, word: str) -> dict[tuple[Any, ...], Site]:
    """The sites an earlier process resolved for this word, by site key (empty: none)."""
    from mmbits.cachedir import load_json

    body = load_json(SUB, _name("sites", [struct, word]), MAGIC_SITES, "body", MAX_ENTRY_BYTES)
    out: dict[tuple[Any, ...], Site] = {}
    if body is None:
        return out
    rows = body.get("sites")
    if not isinstance(rows, list):
        return out
    for row in rows:
        try:
            key, fields = row
            site = site_of_fields(fields)
        except (TypeError, ValueError):
            return {}  # not what we wrote: resolve them all again
        if not isinstance(key, list) or not all(isinstance(v, _SCALARS) for v in key) \
                or site.struct != struct:
            return {}
        out[tuple(key)] = site
    return out


def site_of_fields(fields: Any) -> Site:
    """A site from its fields as `site_fields` gives them (kept data): ValueError if they are not a site's."""
    if not isinstance(fields, list) or len(fields) != len(_FIELDS):
        raise ValueError("not a site")
    for value, (_, types) in zip(fields, _FIELDS, strict=True):
        # bool is an int: an int field must not hold one, nor a bool field an int
        if not isinstance(value, types) or (types == (int,) and isinstance(value, bool)):
            raise ValueError("not a site")
    others = []
    for o in fields[_OTHERS]:
        if not (isinstance(o, list) and len(o) == 4 and isinstance(o[0], str) and isinstance(o[1], str)
                and isinstance(o[2], bool) and isinstance(o[3], bool)):
            raise ValueError("not a site")
        others.append(Other(*o))
    named = {name: value for (name, _), value in zip(_FIELDS, fields, strict=True)}
    named["others"] = tuple(others)
    return Site(**named)


def site_fields(site: Site) -> list[Any]:
    """A site as plain data (lists, strings, ints, bools, None), for the stores that keep sites."""
    out: list[Any] = [getattr(site, name) for name, _ in _FIELDS]
    out[_OTHERS] = [[o.name, o.type, o.pointer, o.list_head] for o in site.others]
    return out


def keep_site(struct: str, word: str, key: tuple[Any, ...], site: Site) -> None:
    """Remember a site this process resolved, for its exit."""
    from mmbits.cachedir import save_at_exit

    if not all(isinstance(v, _SCALARS) for v in key):
        return
    name = _name("sites", [struct, word])
    if name is None:
        return
    _NEW.setdefault(name, (struct, word, {}))[2][key] = site
    save_at_exit(save)


def save() -> None:
    """Write the sites this process resolved, merged with what their entries hold."""
    from mmbits.cachedir import store_json

    for name, (struct, word, new) in list(_NEW.items()):
        sites = {**load_sites(struct, word), **new}
        store_json(SUB, name, MAGIC_SITES, "body",
                   {"sites": [[list(k), site_fields(s)] for k, s in sites.items()]})
    _NEW.clear()


# -- the symbols a domain's proof groups on ---------------------------------------------

def relevant_key(domain: Any, struct: str, word: str, question: tuple[Any, ...]) -> str | None:
    """The entry for a domain's relevant symbols, or None when not kept (a domain with
    fixed configs, or one whose parts cannot say what they are)."""
    if getattr(domain, "fixed", None):
        return None
    try:
        parts = [p.identity() for p in domain.parts]
    except AttributeError:
        return None
    return _name("relevant", {"parts": parts, "struct": struct, "word": word, "question": list(question)})


def load_relevant(key: str | None) -> set[str] | None:
    from mmbits.cachedir import load_json

    body = load_json(SUB, key, MAGIC_RELEVANT, "body", MAX_ENTRY_BYTES)
    symbols = body.get("symbols") if body is not None else None
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        return None
    return set(symbols)


def store_relevant(key: str | None, symbols: set[str]) -> None:
    from mmbits.cachedir import store_json

    store_json(SUB, key, MAGIC_RELEVANT, "body", {"symbols": sorted(symbols)})


# -- a word known in its struct's spec, and its site's symbols ---------------------------

def load_word(struct: str, word: str) -> frozenset[str] | None:
    """The symbols an earlier process found the word's site reads (`site.raw_site_symbols`),
    having found the word in its struct's spec; None when not kept."""
    from mmbits.cachedir import load_json

    body = load_json(SUB, _name("word", [struct, word]), MAGIC_WORD, "body", MAX_ENTRY_BYTES)
    symbols = body.get("site_symbols") if body is not None else None
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        return None
    return frozenset(symbols)


def store_word(struct: str, word: str, symbols: frozenset[str]) -> None:
    from mmbits.cachedir import store_json

    store_json(SUB, _name("word", [struct, word]), MAGIC_WORD, "body", {"site_symbols": sorted(symbols)})
