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


def _type_text(node: dict[str, Any]) -> str:
    if "$ref" in node:
        return str(node["$ref"]).rsplit("/", 1)[-1]
    if "enum" in node:
        return " | ".join(json.dumps(v) for v in node["enum"])
    if "oneOf" in node or "anyOf" in node:
        return " or ".join(_type_text(n) for n in node.get("oneOf", node.get("anyOf", [])))
    if "allOf" in node:
        return " and ".join(_type_text(n) for n in node["allOf"] if "$ref" in n) or "object"
    kind = node.get("type", "any")
    if kind == "array" and isinstance(node.get("items"), dict):
        return f"array of {_type_text(node['items'])}"
    return " | ".join(kind) if isinstance(kind, list) else str(kind)


def markdown() -> str:
    """docs/json-schemas.md: every command's top-level keys, from the shipped schemas
    (python -m mmbits.schemas > docs/json-schemas.md; a test keeps the file current)."""
    out = ["# JSON output of every command", "",
           "Generated from `mmbits/schemas/*.json` by `python -m mmbits.schemas`; `mmbits schema COMMAND`",
           "prints the full schema. Required keys are marked *.", ""]
    common = _read("common.json")["$defs"]
    for name in ("finding", "where"):
        out.append(f"## {name} (every command)")
        out.append("")
        out.append(str(common[name].get("description", "")))
        out.append("")
        required = set(common[name].get("required", []))
        for key, node in common[name]["properties"].items():
            star = "*" if key in required else ""
            out.append(f"- `{key}`{star}: {_type_text(node)}" + (f" -- {node['description']}"
                                                                  if node.get("description") else ""))
        out.append("")
    for command, file in COMMANDS.items():
        schema = _read(file)
        out.append(f"## mmbits {command} --json")
        out.append("")
        out.append(str(schema.get("title", "")).split(": ", 1)[-1] + ".")
        if schema.get("description"):
            out.append(str(schema["description"]) + ".")
        out.append("")
        variants = schema.get("oneOf") or [schema]
        for variant in variants:
            if "properties" not in variant:
                out.append(f"- {_type_text(variant)}")
                continue
            if len(variants) > 1:
                out.append(f"{variant.get('title', '')}:")
                out.append("")
            required = set(variant.get("required", []))
            for key, node in variant["properties"].items():
                star = "*" if key in required else ""
                out.append(f"- `{key}`{star}: {_type_text(node)}")
            out.append("")
        if out[-1] != "":
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
