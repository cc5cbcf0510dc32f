"""Read a kernel .config (plain, gzip such as /proc/config.gz, or xz) into a Config.

A .config is complete: a bool that is absent is off, so arch defaults do not
apply here (they only fill in presets and domains). Boot-time modes are never
in a .config; they default to off and can be set with --set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mmbits.cexpr import Value
from mmbits.errors import InputError
from mmbits.kconfig.config import Config
from mmbits.kconfig.model import KconfigModel, Symbol, load_model

MAX_CONFIG_BYTES = 32 * 1024 * 1024
_SET = re.compile(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# CONFIG_([A-Za-z0-9_]+) is not set$")
_VERSION = re.compile(r"^# Linux/\S+ (\S+) Kernel Configuration")


@dataclass(frozen=True)
class DotConfig:
    """The raw symbols of a .config and the kernel version its header names."""

    path: str
    symbols: dict[str, str]  # name without CONFIG_ -> raw value ('n' for "is not set")
    kernel_version: str | None
    lines: dict[str, int]  # where each symbol was set


def read_bytes(path: str | Path) -> bytes:
    from mmbits.inputs import display_name
    from mmbits.inputs import read_bytes as read_bounded

    name = display_name(str(path))
    raw = read_bounded(str(path), MAX_CONFIG_BYTES, "a kernel .config")
    if raw[:2] == b"\x1f\x8b":
        from mmbits.inputs import decompress_whole

        raw = decompress_whole(raw, name, MAX_CONFIG_BYTES, "a kernel .config")
    elif raw[:6] == b"\xfd7zXZ\x00":
        import lzma

        try:
            raw = lzma.LZMADecompressor().decompress(raw, MAX_CONFIG_BYTES + 1)
        except lzma.LZMAError as exc:
            raise InputError(f"bad xz data: {exc}", file=name) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise InputError("too large for a kernel .config", file=name)
    return raw


def parse_text(text: str, name: str) -> DotConfig:
    symbols: dict[str, str] = {}
    lines: dict[str, int] = {}
    version = None
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.rstrip("\r")
        stripped = line.strip()
        if not stripped:
            continue
        m = _SET.match(stripped)
        if m:
            symbols[m.group(1)] = m.group(2)
            lines[m.group(1)] = lineno
            continue
        m = _UNSET.match(stripped)
        if m:
            symbols[m.group(1)] = "n"
            lines[m.group(1)] = lineno
            continue
        if stripped.startswith("#"):
            v = _VERSION.match(stripped)
            if v and version is None:
                version = v.group(1)
            continue
        raise InputError(f"not a .config line: {stripped[:60]!r}", file=name, line=lineno)
    if not symbols:
        raise InputError("no CONFIG_ symbols: not a kernel .config", file=name)
    return DotConfig(name, symbols, version, lines)


def parse_file(path: str | Path) -> DotConfig:
    raw = read_bytes(path)
    if b"\0" in raw:
        raise InputError("binary data, not a kernel .config", file=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return parse_text(text, str(path))


def _arch(dot: DotConfig, model: KconfigModel) -> str:
    for name, arch in model.archs.items():
        if dot.symbols.get(arch.dotconfig, "n") == "y":
            return name
    wanted = ", ".join(f"CONFIG_{a.dotconfig}" for a in model.archs.values())
    raise InputError(f"cannot tell the architecture: none of {wanted} is set", file=dot.path)


def _release(dot: DotConfig, sym: Symbol) -> Value:
    """VERSION from the header line; a release outside the model stops here (exit 2)."""
    if dot.kernel_version is None:
        return sym.default
    try:
        return sym.coerce(dot.kernel_version)
    except InputError as exc:
        raise InputError(f"{exc.message.replace('VERSION: ', '')} (from the header line "
                         f"'Linux {dot.kernel_version}'); give --kernel VERSION to read it as a modelled release",
                         file=dot.path) from None


# the base page size: the generic choice (6.9 on) or the arch's own
_PAGE_SIZES = (("PAGE_SIZE_{}KB", "ARM64_{}K_PAGES", "PPC_{}K_PAGES"))


def _page_size(dot: DotConfig, sym: Symbol) -> Value:
    for kb in (4, 16, 64, 256):
        for pattern in _PAGE_SIZES:
            if dot.symbols.get(pattern.format(kb)) == "y":
                return sym.coerce(kb, "page size: ") if kb != 256 else sym.coerce(kb)
    return sym.default


def _sublevel(version: str | None, sym: Symbol) -> Value:
    """6.12.117 -> 117; a header without one (6.12, 6.12.0-rc3 is 0) or none at all: the default."""
    m = re.match(r"^v?\d+\.\d+\.(\d+)", version or "")
    return sym.coerce(min(int(m.group(1)), 999)) if m else sym.default


def version_origin(dot: DotConfig, cfg: Config, overridden: bool) -> str:
    """Where the config's kernel release came from, for the output (never silent)."""
    from mmbits.kconfig.release import release_name

    chosen = release_name(cfg.kernel)
    if overridden:
        said = f", its header says Linux {dot.kernel_version}" if dot.kernel_version else ""
        return f"Linux {chosen} (--kernel{said})"
    if dot.kernel_version:
        return f"Linux {chosen} (from the .config header: Linux {dot.kernel_version})"
    return f"Linux {chosen} (the .config has no version header: assumed the newest modelled release)"


def primaries(dot: DotConfig, model: KconfigModel) -> dict[str, Value]:
    """Map the .config onto the model's primary symbols."""
    arch = _arch(dot, model)
    values: dict[str, Value] = {"ARCH": arch}
    for name, sym in model.symbols.items():
        if name == "ARCH" or sym.boot:
            continue
        if sym.type == "release":
            values[name] = _release(dot, sym)
            continue
        if name == "SUBLEVEL":
            values[name] = _sublevel(dot.kernel_version, sym)
            continue
        if name == "PAGE_SIZE_KB":
            values[name] = _page_size(dot, sym)
            continue
        if name == "ARM_MACH":
            if arch == "arm32":
                if dot.symbols.get("ARCH_SA1100") == "y":
                    values[name] = "sa1100"
                elif dot.symbols.get("ARCH_RPC") == "y":
                    values[name] = "rpc"
            continue
        raw = dot.symbols.get(sym.dotconfig or name)
        if raw is None:
            # absent from a complete .config: a bool is off, an int/str takes
            # the symbol's own default (NR_CPUS 1 without SMP, NODES_SHIFT 0)
            values[name] = 0 if sym.type == "bool" else sym.default
            continue
        try:
            values[name] = sym.coerce(raw, "CONFIG_")
        except InputError as exc:
            raise InputError(exc.message, file=dot.path, line=dot.lines.get(sym.dotconfig or name)) from None
    return values


def config_from_file(path: str | Path, overrides: dict[str, Value] | None = None,
                     model: KconfigModel | None = None) -> tuple[Config, DotConfig]:
    model = model or load_model()
    dot = parse_file(path)
    overridden = any(model.symbols[n].type == "release" for n in (overrides or {}) if n in model.symbols)
    if overridden:
        # --kernel: the header may name a release the model lacks; it is not read
        values = primaries(DotConfig(dot.path, dot.symbols, None, dot.lines), model)
    else:
        values = primaries(dot, model)
    if overrides:
        values.update(overrides)
    cfg = model.make(values, name=Path(str(path)).name, source=str(path))
    cfg.version_from = version_origin(dot, cfg, overridden)
    return cfg, dot
