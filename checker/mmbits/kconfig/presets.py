"""Named configurations (layouts/<version>/presets.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from mmbits.cexpr import suggest
from mmbits.errors import InputError
from mmbits.kconfig.config import Config
from mmbits.kconfig.model import load_model
from mmbits.paths import DEFAULT_KERNEL, version_dir
from mmbits.yamlio import load_file


@dataclass(frozen=True)
class Preset:
    name: str
    doc: str
    values: dict[str, object]
    from_dotconfig: str | None


@cache
def _presets(version: str) -> dict[str, Preset]:
    path = version_dir(version) / "presets.yaml"
    doc = load_file(path)
    out: dict[str, Preset] = {}
    for name, spec in doc.items():
        if not isinstance(spec, dict) or "values" not in spec:
            raise InputError(f"preset {name}: needs `values`", file=str(path), line=doc.line_of(name))
        out[str(name)] = Preset(str(name), str(spec.get("doc", "")), dict(spec["values"]), spec.get("from_dotconfig"))
    return out


def preset_names(version: str = DEFAULT_KERNEL) -> list[str]:
    return list(_presets(version))


def preset_info(name: str, version: str = DEFAULT_KERNEL) -> Preset:
    presets = _presets(version)
    if name not in presets:
        raise InputError(f"unknown preset {name!r}{suggest(name, presets)}; known: {', '.join(presets)}")
    return presets[name]


@cache
def preset(name: str, version: str = DEFAULT_KERNEL) -> Config:
    info = preset_info(name, version)
    model = load_model(version)
    values = model.normalise(info.values, where=f"preset {name}: ")
    return model.make(values, name=name)
