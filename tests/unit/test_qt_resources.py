"""research.qt_resources on a Qt resource bundle built here byte by byte (the layout of Qt's rcc
version 2), and research.gcompris_photos' licence lookup on a Debian copyright text."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from research.gcompris_photos import licence_of, photo_licence
from research.qt_resources import COMPRESSED, COMPRESSED_ZSTD, DIRECTORY, ResourceError, read_resources


def _bundle(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A version-2 rcc bundle: root -> one folder `img` -> the files (name -> (stored bytes, flags))."""
    names, name_offset = b"", {}
    for name in ["img", *files]:
        name_offset[name] = len(names)
        encoded = name.encode("utf-16-be")
        names += struct.pack(">HI", len(name), 0) + encoded
    data, data_offset = b"", {}
    for name, (stored, _) in files.items():
        data_offset[name] = len(data)
        data += struct.pack(">I", len(stored)) + stored
    node = 22
    tree = struct.pack(">IHII", 0, DIRECTORY, 1, 1) + bytes(8)  # root: one child, node 1
    tree += struct.pack(">IHII", name_offset["img"], DIRECTORY, len(files), 2) + bytes(8)
    for name, (_, flags) in files.items():
        tree += struct.pack(">IHHHI", name_offset[name], flags, 0, 0, data_offset[name]) + bytes(8)
    assert len(tree) == node * (2 + len(files))
    header = 20
    return (b"qres" + struct.pack(">IIII", 2, header, header + len(tree), header + len(tree) + len(data))
            + tree + data + names)


def test_reads_plain_and_zlib_compressed_files(tmp_path: Path) -> None:
    photo, text = bytes(range(256)) * 4, b"hello " * 50
    packed = struct.pack(">I", len(text)) + zlib.compress(text)  # qCompress: size, then the zlib stream
    path = tmp_path / "a.rcc"
    path.write_bytes(_bundle({"photo.webp": (photo, 0), "notes.txt": (packed, COMPRESSED)}))
    assert read_resources(path) == {"img/photo.webp": photo, "img/notes.txt": text}


def test_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "z.rcc"
    path.write_bytes(_bundle({"x.webp": (b"abc", COMPRESSED_ZSTD)}))
    with pytest.raises(ResourceError, match="img/x.webp is zstd-compressed"):
        read_resources(path)
    path.write_bytes(b"PK\x03\x04 not a bundle")
    with pytest.raises(ResourceError, match="no 'qres' header"):
        read_resources(path)


COPYRIGHT = """Files: *
Copyright: the GCompris authors
License: GPL-3+

Files: src/activities/categorization/resource/images/fishes/fish1.jpg
Copyright: someone
License: CC-BY-SA-3.0

Files: src/activities/details/resource/image/*
       src/activities/explore_farm_animals/resource/animals/*
Copyright: others
License: CC-BY-2.0
"""


@pytest.mark.parametrize(("source", "licence"), [
    ("src/activities/categorization/resource/images/fishes/fish1.webp", "CC-BY-SA-3.0"),  # .jpg listed
    ("src/activities/categorization/resource/images/fishes/fish2.webp", "GPL-3+"),  # only Files: * matches
    ("src/activities/explore_farm_animals/resource/animals/cow.webp", "CC-BY-2.0"),  # a continued Files line
])
def test_the_last_matching_stanza_gives_the_licence(source: str, licence: str) -> None:
    assert photo_licence(source, licence_of(COPYRIGHT)) == licence
