"""File checks without GX: path containment, header-first dimension guard, read_header, thread pool order."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from landmark.data.images import ImageTooLargeError, load_rgb, read_header
from landmark.params import ValidateParams
from landmark.validation import checks
from landmark.validation.files import check_file, check_files, resolve_inside
from landmark.validation.suite import SAFE_PATH_REGEX

PARAMS = ValidateParams(
    min_photos_per_landmark=1, min_side=16, max_side=1000, max_pixels=100_000, max_file_bytes=50_000
)


def _bomb(path: Path, width: int, height: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


@pytest.mark.parametrize(
    "path, ok",
    [
        ("a/b.jpg", True),
        ("b.jpg", True),
        ("Сан Марко/фото.jpg", True),
        ("a/..b/c..jpg", True),
        ("./a.jpg", True),
        ("../a.jpg", False),
        ("a/../b.jpg", False),
        ("a/..", False),
        ("/etc/passwd", False),
        ("C:/x.jpg", False),
        ("a\\b.jpg", False),
        ("\\\\server\\x.jpg", False),
        ("", False),
    ],
)
def test_safe_path_regex(path: str, ok: bool) -> None:
    import re

    assert (re.search(SAFE_PATH_REGEX, path) is not None) == ok


def test_resolve_inside_follows_symlinks(tmp_path: Path) -> None:
    root = (tmp_path / "root").resolve()
    root.mkdir()
    (tmp_path / "secret.txt").write_text("x")
    os.symlink(tmp_path / "secret.txt", root / "link.jpg")
    os.symlink(tmp_path, root / "up")
    assert resolve_inside(root, "link.jpg") is None
    assert resolve_inside(root, "up/secret.txt") is None
    assert resolve_inside(root, "../secret.txt") is None
    assert resolve_inside(root, str(tmp_path / "secret.txt")) is None
    assert resolve_inside(root, "sub/new.jpg") == root / "sub" / "new.jpg"


def test_bomb_is_refused_from_the_header(tmp_path: Path) -> None:
    _bomb(tmp_path / "bomb.png", 60_000, 60_000)  # no IDAT at all: decoding would fail differently
    verdict = check_file(tmp_path.resolve(), "bomb.png", PARAMS)
    assert verdict.check == checks.DIMENSIONS
    with pytest.raises(ImageTooLargeError):
        read_header(tmp_path / "bomb.png")
    _bomb(tmp_path / "big.png", 400, 400)  # PIL opens it; our max_pixels (100k) refuses it
    assert check_file(tmp_path.resolve(), "big.png", PARAMS).check == checks.DIMENSIONS
    with pytest.raises(ImageTooLargeError):
        load_rgb(tmp_path / "big.png", max_pixels=100_000)


def test_read_header_reports_mode_and_orientation(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.new("CMYK", (50, 20)).save(tmp_path / "c.jpg", exif=exif.tobytes())
    header = read_header(tmp_path / "c.jpg")
    assert (header.width, header.height, header.mode, header.orientation) == (50, 20, "CMYK", 8)
    assert header.oriented_size == (20, 50)
    image = load_rgb(tmp_path / "c.jpg")
    assert image.mode == "RGB" and image.size == (20, 50)


def test_passing_file_records_hash_and_size(tmp_path: Path) -> None:
    Image.new("P", (40, 30)).save(tmp_path / "p.png")
    verdict = check_file(tmp_path.resolve(), "p.png", PARAMS)
    assert verdict.check is None
    photo = verdict.photo
    assert (photo.width, photo.height, photo.mode, photo.orientation) == (40, 30, "P", 1)
    import hashlib

    assert verdict.photo.sha256 == hashlib.sha256((tmp_path / "p.png").read_bytes()).hexdigest()


def test_check_files_keeps_order_on_two_threads(tmp_path: Path) -> None:
    names = []
    for i in range(20):
        name = f"{i}.png"
        if i % 3:
            Image.new("RGB", (20 + i, 20)).save(tmp_path / name)
        names.append(name)
    verdicts = check_files(tmp_path, names, PARAMS, workers=2, progress=False)
    assert [v.check for v in verdicts] == [checks.FILE_MISSING if i % 3 == 0 else None for i in range(20)]
    assert [v.photo.width for v in verdicts if v.check is None] == [20 + i for i in range(20) if i % 3]
