"""Read the files of a compiled Qt resource bundle (`.rcc`, as Debian's gcompris-qt-data ships its
photos) without Qt: the binary format of Qt's rcc tool (qtbase src/corelib/io/qresource.cpp).

Header: "qres", version, then the offsets of the tree, the data and the names (big-endian u32; version
3 adds a flags word). A tree node is 14 bytes (+ 8 of modification time from version 2): name offset
u32, flags u16, then for a directory its child count and first child (u32 each), for a file
territory/language (u16 each) and its data offset (u32). A name is u16 length, u32 hash, UTF-16BE
characters; a file's data is u32 size then the bytes, zlib-compressed behind a 4-byte size when flag 1
is set. Zstandard-compressed files (flag 4) are refused, naming the file.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

COMPRESSED, DIRECTORY, COMPRESSED_ZSTD = 1, 2, 4


class ResourceError(ValueError):
    """A file that is not a Qt resource bundle this reader understands."""


def read_resources(path: Path) -> dict[str, bytes]:
    """Every file of the bundle at `path`: its path inside the bundle ("a/b.webp") -> its bytes."""
    blob = path.read_bytes()
    if blob[:4] != b"qres":
        raise ResourceError(f"{path}: not a Qt resource bundle (no 'qres' header)")
    version, tree, data, names = struct.unpack_from(">IIII", blob, 4)
    if version not in (1, 2, 3):
        raise ResourceError(f"{path}: rcc format version {version} is not 1, 2 or 3")
    node_size = 14 if version == 1 else 22

    def name(offset: int) -> str:
        length = struct.unpack_from(">H", blob, names + offset)[0]
        return blob[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    out: dict[str, bytes] = {}
    stack = [(0, "")]  # (node index, parent path); node 0 is the root directory
    while stack:
        node, parent = stack.pop()
        at = tree + node * node_size
        name_offset, flags = struct.unpack_from(">IH", blob, at)
        here = "" if node == 0 else f"{parent}{name(name_offset)}"
        if flags & DIRECTORY:
            count, first = struct.unpack_from(">II", blob, at + 6)
            stack += [(child, f"{here}/" if here else "") for child in range(first, first + count)]
            continue
        offset = struct.unpack_from(">I", blob, at + 10)[0]
        size = struct.unpack_from(">I", blob, data + offset)[0]
        payload = blob[data + offset + 4:data + offset + 4 + size]
        if flags & COMPRESSED_ZSTD:
            raise ResourceError(f"{path}: {here} is zstd-compressed, which this reader does not decode")
        out[here] = zlib.decompress(payload[4:]) if flags & COMPRESSED else payload
    return out
