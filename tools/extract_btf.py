#!/usr/bin/env python3
"""Extract the vmlinux BTF blob from a Linux kernel image file.

Handles:
  * ELF vmlinux with a .BTF section (ppc64el /boot/vmlinux, decompressed x86 payload);
  * raw kernel Images (arm64/armhf/riscv64 Image) that contain the BTF blob
    between __start_BTF/__stop_BTF -- found by scanning for the BTF header magic
    (0xEB9F as u16 in either byte order) and validating the header and the
    whole type section;
  * compressed images (bzImage, zImage, Image.gz, s390 bzImage, EFI zboot PE):
    every gzip / xz / lzma / bzip2 / zstd / lz4-legacy stream start is tried, the
    stream decompressed (trailing data tolerated) and searched recursively.

Usage:
  extract_btf.py IMAGE -o OUT.btf [--banner]
Prints a JSON description (method, byte order, sizes, sha256, ...) on stdout.

Written for the mmbits truth-data job; independent of the kernel's
scripts/extract-vmlinux (same idea, own code).
"""
import argparse
import bz2
import hashlib
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

BTF_MAGIC = 0xEB9F
MIN_DECOMP = 1 << 20          # a kernel payload is at least 1 MiB

# --------------------------------------------------------------------------
# BTF validation
# --------------------------------------------------------------------------
# extra bytes after struct btf_type (12 bytes), per kind: (fixed, per_vlen)
KIND_EXTRA = {
    1: (4, 0),    # INT
    2: (0, 0),    # PTR
    3: (12, 0),   # ARRAY
    4: (0, 12),   # STRUCT
    5: (0, 12),   # UNION
    6: (0, 8),    # ENUM
    7: (0, 0),    # FWD
    8: (0, 0),    # TYPEDEF
    9: (0, 0),    # VOLATILE
    10: (0, 0),   # CONST
    11: (0, 0),   # RESTRICT
    12: (0, 0),   # FUNC
    13: (0, 8),   # FUNC_PROTO
    14: (4, 0),   # VAR
    15: (0, 12),  # DATASEC
    16: (0, 0),   # FLOAT
    17: (4, 0),   # DECL_TAG
    18: (0, 0),   # TYPE_TAG
    19: (0, 12),  # ENUM64
}


def parse_btf_at(buf, off):
    """Validate a BTF header at buf[off:]; return info dict or None."""
    if off + 24 > len(buf):
        return None
    b0, b1 = buf[off], buf[off + 1]
    if (b0, b1) == (0x9F, 0xEB):
        end = '<'
    elif (b0, b1) == (0xEB, 0x9F):
        end = '>'
    else:
        return None
    magic, version, flags, hdr_len = struct.unpack_from(end + 'HBBI', buf, off)
    if magic != BTF_MAGIC or version != 1 or flags != 0:
        return None
    if hdr_len < 24 or hdr_len > 256 or hdr_len % 4:
        return None
    type_off, type_len, str_off, str_len = struct.unpack_from(end + 'IIII', buf, off + 8)
    if type_off != 0 or type_len == 0 or type_len % 4:
        return None
    if str_off != type_off + type_len or str_len == 0:
        return None
    total = hdr_len + str_off + str_len
    if off + total > len(buf):
        return None
    sbase = off + hdr_len + str_off
    if buf[sbase] != 0 or buf[sbase + str_len - 1] != 0:
        return None
    # walk the whole type section: it must be consumed exactly
    p = off + hdr_len + type_off
    tend = p + type_len
    ntypes = 0
    kinds = {}
    ulong_size = None
    while p < tend:
        if p + 12 > tend:
            return None
        name_off, info, size = struct.unpack_from(end + 'III', buf, p)
        kind = (info >> 24) & 0x1f
        vlen = info & 0xffff
        if kind not in KIND_EXTRA or name_off >= str_len:
            return None
        fixed, per = KIND_EXTRA[kind]
        if kind == 1 and ulong_size is None:
            nm = bytes(buf[sbase + name_off: sbase + name_off + 18])
            if nm == b'long unsigned int\0':
                ulong_size = size
        p += 12 + fixed + per * vlen
        ntypes += 1
        kinds[kind] = kinds.get(kind, 0) + 1
    if p != tend:
        return None
    return {
        'offset': off,
        'byte_order': 'little' if end == '<' else 'big',
        'hdr_len': hdr_len,
        'type_len': type_len,
        'str_len': str_len,
        'size': total,
        'ntypes': ntypes,
        'long_size': ulong_size,
    }


def scan_btf(buf):
    """Find all valid BTF blobs in a raw buffer; return list of info dicts."""
    found = []
    for pat in (b'\x9f\xeb\x01\x00', b'\xeb\x9f\x01\x00'):
        i = buf.find(pat)
        while i != -1:
            info = parse_btf_at(buf, i)
            if info:
                found.append(info)
            i = buf.find(pat, i + 1)
    found.sort(key=lambda d: -d['size'])
    return found


# --------------------------------------------------------------------------
# ELF
# --------------------------------------------------------------------------
def elf_sections(buf):
    if buf[:4] != b'\x7fELF':
        return None
    cls, data = buf[4], buf[5]
    end = '<' if data == 1 else '>'
    if cls == 2:
        shoff, = struct.unpack_from(end + 'Q', buf, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(end + 'HHH', buf, 0x3A)
    else:
        shoff, = struct.unpack_from(end + 'I', buf, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(end + 'HHH', buf, 0x2E)
    if shoff == 0 or shnum == 0 or shoff + shnum * shentsize > len(buf):
        return {'class': 64 if cls == 2 else 32, 'endian': end, 'sections': {}}
    secs = []
    for i in range(shnum):
        o = shoff + i * shentsize
        if cls == 2:
            name, typ, flags, addr, off, size = struct.unpack_from(end + 'IIQQQQ', buf, o)
        else:
            name, typ, flags, addr, off, size = struct.unpack_from(end + 'IIIIII', buf, o)
        secs.append((name, typ, off, size))
    stro = secs[shstrndx][2]
    out = {}
    for name, typ, off, size in secs:
        e = buf.index(b'\0', stro + name)
        out[bytes(buf[stro + name:e]).decode('latin1')] = (off, size, typ)
    return {'class': 64 if cls == 2 else 32, 'endian': end, 'sections': out}


# --------------------------------------------------------------------------
# decompression
# --------------------------------------------------------------------------
def _dec_gzip(buf, off):
    d = zlib.decompressobj(31)
    return d.decompress(bytes(buf[off:]))


def _dec_xz(buf, off):
    d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    return d.decompress(bytes(buf[off:]))


def _dec_lzma(buf, off):
    d = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
    return d.decompress(bytes(buf[off:]))


def _dec_bzip2(buf, off):
    d = bz2.BZ2Decompressor()
    return d.decompress(bytes(buf[off:]))


def _dec_cli(cmd):
    def f(buf, off):
        if not shutil.which(cmd[0]):
            return b''
        r = subprocess.run(cmd, input=bytes(buf[off:]), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        # trailing garbage after the frame makes the tool fail; keep output
        return r.stdout
    return f


METHODS = [
    ('gzip', b'\x1f\x8b\x08', _dec_gzip),
    ('xz', b'\xfd7zXZ\x00', _dec_xz),
    ('zstd', b'\x28\xb5\x2f\xfd', _dec_cli(['zstd', '-dcq'])),
    ('lz4', b'\x02\x21\x4c\x18', _dec_cli(['lz4', '-dcq'])),
    ('bzip2', b'BZh', _dec_bzip2),
    ('lzma', b'\x5d\x00\x00', _dec_lzma),
]


def candidates(buf):
    c = []
    for name, magic, fn in METHODS:
        i = buf.find(magic)
        n = 0
        while i != -1 and n < 64:
            c.append((i, name, fn))
            n += 1
            i = buf.find(magic, i + 1)
    c.sort(key=lambda t: t[0])
    return c


BANNER_RE = re.compile(rb'Linux version (\S+) \([^\n\0]{0,300}')


SEEN_BANNERS = []


def find_in(buf, depth=0, trail=()):
    """Return (btf_bytes, info, banner, trail) or None."""
    elf = elf_sections(buf)
    banner = None
    m = BANNER_RE.search(buf)
    if m:
        banner = m.group(0).decode('latin1', 'replace').strip()
        SEEN_BANNERS.append(banner)
    if elf and '.BTF' in elf['sections']:
        off, size, _ = elf['sections']['.BTF']
        info = parse_btf_at(buf, off)
        if info and info['size'] <= size:
            info['method'] = 'ELF .BTF section'
            info['elf_class'] = elf['class']
            return bytes(buf[off:off + info['size']]), info, banner, trail + ('elf',)
    found = scan_btf(buf)
    if found:
        info = found[0]
        info['method'] = 'raw scan for BTF header magic'
        info['n_candidates'] = len(found)
        if elf:
            info['elf_class'] = elf['class']
        off = info['offset']
        return bytes(buf[off:off + info['size']]), info, banner, trail + ('raw',)
    if depth >= 3:
        return None
    for off, name, fn in candidates(buf):
        try:
            out = fn(buf, off)
        except Exception:
            continue
        if len(out) < MIN_DECOMP:
            continue
        r = find_in(out, depth + 1, trail + (f'{name}@0x{off:x}',))
        if r:
            return r
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('image')
    ap.add_argument('-o', '--output', help='write the raw BTF blob here')
    a = ap.parse_args()
    with open(a.image, 'rb') as f:
        buf = f.read()
    r = find_in(buf)
    res = {'image': os.path.abspath(a.image),
           'image_sha256': hashlib.sha256(buf).hexdigest()}
    if not r:
        res['btf'] = False
        res['banner'] = SEEN_BANNERS[0] if SEEN_BANNERS else None
        print(json.dumps(res, indent=1))
        return 2
    blob, info, banner, trail = r
    res['btf'] = True
    res.update(info)
    res['path'] = ' -> '.join(trail)
    res['banner'] = banner
    res['pointer_size'] = info.get('long_size')
    res['btf_sha256'] = hashlib.sha256(blob).hexdigest()
    if a.output:
        with open(a.output, 'wb') as f:
            f.write(blob)
        res['output'] = os.path.abspath(a.output)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
