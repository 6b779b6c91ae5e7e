"""Photos of every PIL mode, format and EXIF orientation, for the bad-data tests.

`make_photo` builds a random image in a mode, `save_photo` writes it in a format with an EXIF
orientation, or raises `CannotSave` when PIL cannot write that mode in that format (the caller skips
those combinations: they cannot reach the product from a real file either).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

MODES = ("1", "L", "LA", "P", "PA", "I", "I;16", "I;16B", "F", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV")
FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp", "GIF": ".gif"}
ORIENTATIONS = tuple(range(1, 9))
EXIF_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")  # BMP and GIF carry no EXIF block: orientation is lost
_BYTES_PER_PIXEL = {"LA": 2, "RGB": 3, "RGBA": 4, "CMYK": 4, "YCbCr": 3, "LAB": 3, "HSV": 3}


class CannotSave(Exception):
    """PIL cannot write this mode in this format (or cannot attach EXIF to it)."""


def make_photo(mode: str, width: int, height: int, seed: int) -> Image.Image:
    """A random (width x height) image stored in PIL `mode`."""
    rng = np.random.default_rng(seed)
    size = (width, height)
    if mode == "1":
        return Image.fromarray(rng.integers(0, 2, (height, width)).astype(bool))
    if mode == "L":
        return Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8))
    if mode in ("P", "PA"):
        rgb = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        return pal if mode == "P" else pal.convert("PA")
    if mode == "I":
        return Image.fromarray(rng.integers(-(2**20), 2**20, (height, width), dtype=np.int32))
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 2**16, (height, width), dtype=np.uint16))
    if mode == "I;16B":
        data = rng.integers(0, 2**16, (height, width)).astype(">u2").tobytes()
        return Image.frombytes("I;16B", size, data)
    if mode == "F":
        return Image.fromarray(rng.normal(0.0, 100.0, (height, width)).astype(np.float32))
    data = rng.integers(0, 256, width * height * _BYTES_PER_PIXEL[mode], dtype=np.uint8).tobytes()
    return Image.frombytes(mode, size, data)


def save_photo(image: Image.Image, path: Path, fmt: str, orientation: int) -> Path:
    """Write `image` to `path` in `fmt` with EXIF orientation `orientation` (if the format has EXIF).

    Raises CannotSave when PIL refuses the mode for that format; nothing is left at `path` then.
    """
    kwargs: dict[str, object] = {}
    if fmt in EXIF_FORMATS and orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=fmt, **kwargs)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CannotSave(f"PIL cannot save mode {image.mode} as {fmt}: {exc}") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path
