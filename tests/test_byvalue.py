"""The plain classes that replaced dataclasses keep what the dataclasses gave: repr, value
equality, a hash only when frozen, defaults made per object, __post_init__."""

from __future__ import annotations

import pickle

import pytest

from mmbits.decode.context import KernelContext
from mmbits.decode.model import Check
from mmbits.decode.parse import DumpRecord, WordLine
from mmbits.findings import Where
from mmbits.layout.model import Field, Layout, Member


def test_repr_is_the_dataclass_repr() -> None:
    assert repr(Check("kind", "slab", None, "agrees")) == \
        "Check(item='kind', ours='slab', printed=None, status='agrees', why='')"
    assert repr(KernelContext()) == "KernelContext(version=None, release=None, arch=None, evidence=())"


def test_frozen_ones_are_equal_and_hashed_by_value() -> None:
    a, b = Field("flags", 0, 8, False, True), Field("flags", 0, 8, False, True)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Field("flags", 8, 8, False, True)
    assert Where("page", "flags") != ("page", "flags", None, (), None, None)  # another class is never equal


def test_mutable_ones_compare_by_value_and_are_unhashable() -> None:
    assert WordLine(3, [1, 2], 16) == WordLine(3, [1, 2], 16)
    assert WordLine(3, [1, 2], 16) != WordLine(4, [1, 2], 16)
    with pytest.raises(TypeError):
        hash(WordLine(3, [1, 2], 16))


def test_default_factories_give_each_object_its_own() -> None:
    a, b = DumpRecord(), DumpRecord()
    a.raw.append(WordLine(1, [0], 16))
    assert b.raw == [] and a.raw is not b.raw


def test_post_init_still_runs() -> None:
    assert Where(bits=(5, 3)).bit == 3
    assert Where(bit=7).bits == (7,)


def test_they_pickle() -> None:  # findings cross from decode's second process (decode/parallel.py)
    w = Where("page", "flags", bits=(1, 2), detail="x")
    assert pickle.loads(pickle.dumps(w)) == w


def test_layout_members_and_words_moved() -> None:
    f = Field("lru.next", 8, 8, False, True)
    assert f.moved("next", 0) == Field("next", 0, 8, False, True)
    m = Member("flags", "field", "unsigned long", 0, 8, 8)
    assert m != Member("flags", "field", "unsigned long", 0, 8, 8)  # eq=False: by identity, as before
    lay = Layout("page", 8, 8, Member(None, "struct", "", 0, 8, 8, children=(m,)), None, env={"X": 1})
    other = lay.with_config(None)
    assert other is not lay and other.root is lay.root and other.env == {"X": 1}
    assert "env=" not in repr(lay)  # repr=False fields stay out of the repr


def _plain_classes() -> list[type]:
    """Every class in the package built on byvalue's bases (each module imported)."""
    import importlib
    import pkgutil

    import mmbits
    from mmbits.byvalue import Shown

    for info in pkgutil.walk_packages(mmbits.__path__, "mmbits."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    found: list[type] = []
    todo: list[type] = [Shown]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("mmbits.") and sub.__module__ != "mmbits.byvalue":
                found.append(sub)
    return found


def test_each_plain_class_shows_and_takes_the_fields_it_declares() -> None:
    """A field added to one of the hand-written classes in one place and not the others (its
    annotation, its __init__ parameter, its repr's `_SHOWN`) fails here, as the dataclass
    decorator would have made them agree."""
    import inspect
    from functools import cached_property

    classes = _plain_classes()
    assert len(classes) >= 30
    for cls in classes:
        declared = [n for klass in reversed(cls.__mro__) for n, a in vars(klass).get("__annotations__", {}).items()
                    if not str(a).startswith(("ClassVar", "typing.ClassVar"))]
        declared += [n for klass in cls.__mro__ for n in vars(klass).get("__slots__", ())]
        params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        # (a repr may show a property, as ArchHint its compiled pattern)
        shown = {n for n in cls._SHOWN if not isinstance(getattr(cls, n, None), (property, cached_property))}  # type: ignore[attr-defined]
        assert shown <= set(declared), cls
        assert set(params) <= set(declared), cls
