"""The JSON Schemas of every command's --json output, shipped with the package.

`common.json` holds what every command shares (the finding object, the verdict
spelling); each command's file refers to it as `common.json#/$defs/NAME`.
`load(command)` returns one schema with those definitions bundled in, so a
printed schema (`mmbits schema check`) stands alone.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from mmbits.errors import InputError

# command (as typed after `mmbits`) -> schema file
COMMANDS: dict[str, str] = {
    "show": "show.json",
    "flags": "flags.json",
    "overlay": "overlay.json",
    "configs": "configs.json",
    "check": "check.json",
    "patch": "patch.json",
    "simulate": "simulate.json",
    "decode": "decode.json",
    "report": "report.json",
    "btf show": "btf-show.json",
    "btf verify": "btf-verify.json",
    "btf import": "btf-import.json",
}
_COMMON_REF = "common.json#/$defs/"


@cache
def _read(name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace(_COMMON_REF, "#/$defs/") if k == "$ref" and isinstance(v, str) else _rewrite(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def load(command: str) -> dict[str, Any]:
    """The schema of `mmbits COMMAND --json`, self-contained."""
    key = " ".join(command.split())
    if key not in COMMANDS:
        raise InputError(f"no schema for {command!r} (commands with --json: {', '.join(COMMANDS)})")
    schema = _rewrite(_read(COMMANDS[key]))
    defs = dict(_rewrite(_read("common.json"))["$defs"])
    defs.update(schema.get("$defs", {}))
    schema["$defs"] = defs
    return schema  # type: ignore[no-any-return]


def validate(command: str, document: Any) -> None:
    """Raise jsonschema.ValidationError unless `document` follows the command's schema."""
    import jsonschema

    jsonschema.validate(document, load(command), cls=jsonschema.Draft202012Validator)
