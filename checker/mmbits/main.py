"""The console script's entry point.

Most commands go through click (mmbits.cli). `mmbits btf show` is what
kernel developers time against pahole, and importing click alone costs about
as much as pahole's whole run, so that one command, in its plain forms, is
parsed here without click. Anything unusual (help, unknown or repeated
options, bad input the fast path is not sure about) falls through to the
click path, which stays the reference behaviour; tests compare the two.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

FLAGS = {"--json": "as_json", "--hex": "hex_", "--no-cache": "no_cache"}


def _fast_btf_show(args: list[str]) -> int | None:
    """Run `btf show` without click, or return None to let click handle it."""
    names = None
    opts: dict[str, Any] = {"as_json": False, "hex_": False, "no_cache": False, "btf_file": "/sys/kernel/btf/vmlinux"}
    seen: set[str] = set()
    i = 0
    while i < len(args):
        a = args[i]
        if a in FLAGS and a not in seen:
            opts[FLAGS[a]] = True
        elif a == "--btf" and a not in seen and i + 1 < len(args) and not args[i + 1].startswith("-"):
            opts["btf_file"] = args[i + 1]
            i += 1
        elif a.startswith("--btf=") and "--btf" not in seen:
            opts["btf_file"] = a.split("=", 1)[1]
            a = "--btf"
        elif not a.startswith("-") and names is None:
            names = a
            a = "NAMES"
        else:
            return None
        seen.add(a)
        i += 1
    if names is None or not names.strip() or not opts["btf_file"]:
        return None
    from mmbits.btf import cache, open_btf
    from mmbits.btf.source import read_btf_bytes
    from mmbits.errors import EXIT_BAD_INPUT, InputError

    try:
        blob = read_btf_bytes(opts["btf_file"])
        use_cache = not opts["no_cache"] and cache.cache_dir() is not None
        key = out_key = None
        if use_cache:
            key = cache.blob_key(blob)
            if cache.output_cache_on():
                out_key = cache.output_key(key, names, f"json={opts['as_json']} hex={opts['hex_']}")
                out = cache.load_text(out_key)
                if out is not None:
                    return _write(out)
        from mmbits.btf.render import lookup, parse_names, to_json, to_text

        queries = parse_names(names)
        b = open_btf(opts["btf_file"], use_cache=use_cache, blob=blob, key=key)
        found = [lookup(b, q) for q in queries]
        if opts["as_json"]:
            import json

            objs = [to_json(b, f) for f in found]
            out = json.dumps(objs[0] if len(objs) == 1 else objs, indent=2)
        else:
            out = "\n".join(to_text(b, f, opts["hex_"]) for f in found)
    except InputError as exc:
        sys.stderr.write(f"mmbits: error: {exc}\n")
        return EXIT_BAD_INPUT
    except Exception:
        return None  # let the click path report it under the usual contract
    if out_key is not None:
        cache.store_text(out_key, out)
    return _write(out)


def _write(out: str) -> int:
    try:
        sys.stdout.write(out + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), sys.stdout.fileno())
    return 0


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:2] == ["btf", "show"] and not os.environ.get("MMBITS_NO_FAST_PATH"):
        rc = _fast_btf_show(args[2:])
        if rc is not None:
            sys.exit(rc)
    from mmbits.cli import main as click_main

    click_main(args)
