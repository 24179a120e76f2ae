"""Lists and extracts the native libraries a Bun single-file executable carries in its `.bun`
section (Bun's embedded file system, /$bunfs/root/...). At run time Bun writes such a file to
/tmp/.<hash>-0000000N.{so,node} and dlopen()s it, so its DT_NEEDED entries are resolved by the
dynamic linker then, not by anything at build time; nix/check.sh dlopen()s each extracted copy
through the patched OpenCode. Stdlib only, ELF64 little-endian.

    python3 nix/bun-embedded.py BINARY OUTDIR

prints one line per embedded native file name ("name\tlibfff_c-71argf42.so", the name without
Bun's hash first) and one per extracted ELF ("elf\tOUTDIR/embedded-<offset>.so").
"""

import os
import re
import struct
import sys


def bun_section(data):
    """(offset, size) of the `.bun` section, from the ELF's section headers."""
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    strtab_off = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 0x18)[0]
    for i in range(shnum):
        base = shoff + i * shentsize
        name_off = struct.unpack_from("<I", data, base)[0]
        end = data.index(b"\0", strtab_off + name_off)
        if data[strtab_off + name_off : end] == b".bun":
            offset, size = struct.unpack_from("<QQ", data, base + 0x18)
            return offset, size
    raise SystemExit("no .bun section: not a Bun single-file executable")


def embedded_elves(data, start, end):
    """(offset, length) of each ELF64 shared object inside [start, end)."""
    found = []
    pos = data.find(b"\x7fELF\x02\x01\x01", start, end)
    while pos != -1:
        e_type = struct.unpack_from("<H", data, pos + 0x10)[0]
        shoff = struct.unpack_from("<Q", data, pos + 0x28)[0]
        shentsize, shnum = struct.unpack_from("<HH", data, pos + 0x3A)
        length = shoff + shentsize * shnum
        if e_type == 3 and 0 < length <= end - pos:  # ET_DYN
            found.append((pos, length))
            pos = data.find(b"\x7fELF\x02\x01\x01", pos + length, end)
        else:
            pos = data.find(b"\x7fELF\x02\x01\x01", pos + 4, end)
    return found


def main():
    binary, outdir = sys.argv[1], sys.argv[2]
    with open(binary, "rb") as f:
        data = f.read()
    offset, size = bun_section(data)
    section = data[offset : offset + size]
    names = sorted(set(re.findall(rb"\$bunfs/root/([A-Za-z0-9_.]+-[a-z0-9]{8}\.(?:so|node))", section)))
    for name in names:
        text = name.decode()
        print(f"name\t{re.sub(r'-[a-z0-9]{8}[.](so|node)$', '', text)}\t{text}")
    os.makedirs(outdir, exist_ok=True)
    for pos, length in embedded_elves(data, offset, offset + size):
        path = os.path.join(outdir, f"embedded-{pos}.so")
        with open(path, "wb") as out:
            out.write(data[pos : pos + length])
        print(f"elf\t{path}")


if __name__ == "__main__":
    main()
