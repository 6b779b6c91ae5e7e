"""Safe photo decoding shared by validation, embedding and recognition.

Every photo goes through `load_rgb`: size guard before decoding (decompression bombs), EXIF
orientation applied, any mode (CMYK, 16-bit, palette, alpha, greyscale) normalised to 8-bit RGB.
Errors carry a `kind` (one word a program can branch on) and a message naming the file and reason.
Safe to call from many threads at once: nothing here touches process-wide state (the warnings
filters included, which `warnings.catch_warnings` would change for every thread).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

DEFAULT_MAX_PIXELS = 40_000_000
EXIF_ORIENTATION_TAG = 0x0112


class ImageDecodeError(ValueError):
    """A photo cannot be used; the message names the file and the reason."""

    kind = "not_an_image"


class ImageTooLargeError(ImageDecodeError):
    """The header states more pixels than allowed (decompression-bomb guard); nothing was decoded."""

    kind = "too_many_pixels"


class ImageTruncatedError(ImageDecodeError):
    """The file starts as an image but its data ends early."""

    kind = "truncated"


class ImageMissingError(ImageDecodeError):
    """No file at the path."""

    kind = "file_not_found"


class ImageEmptyError(ImageDecodeError):
    """The photo has no bytes at all."""

    kind = "empty"


Source = Path | str | bytes


def _open(source: Source, label: str) -> Image.Image:
    """PIL image (lazy: only the header is read); `label` names the photo in the error for 0 bytes."""
    if isinstance(source, bytes):
        if not source:
            raise ImageEmptyError(f"{label}: empty (0 bytes)")
        return Image.open(io.BytesIO(source))
    path = Path(source)
    if path.is_file() and path.stat().st_size == 0:
        raise ImageEmptyError(f"{label}: empty file (0 bytes)")
    return Image.open(path)


@contextmanager
def _decode_errors(label: str) -> Iterator[None]:
    """Whatever opening or decoding raises becomes an ImageDecodeError (with its kind) naming `label`."""
    try:
        yield
    except ImageDecodeError:
        raise
    except FileNotFoundError as exc:
        raise ImageMissingError(f"{label}: file not found") from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{label}: decompression bomb: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _decode_error(label, exc) from exc


def _decode_error(name: str, exc: BaseException) -> ImageDecodeError:
    text = str(exc)
    if isinstance(exc, Image.UnidentifiedImageError):
        return ImageDecodeError(f"{name}: not a decodable image: no image format recognised in its bytes")
    if isinstance(exc, EOFError) or "truncated" in text.lower():
        return ImageTruncatedError(f"{name}: truncated image data: {text or type(exc).__name__}")
    return ImageDecodeError(f"{name}: not a decodable image: {text or type(exc).__name__}")


@dataclass(frozen=True)
class ImageHeader:
    """What the file header says, before any pixel is decoded.

    width, height: stored size in pixels (before EXIF orientation); mode: PIL mode as stored
    (e.g. "CMYK", "I;16", "P", "RGBA", "L"); format: PIL format name;
    orientation: EXIF tag 1-8 (1 = as stored).
    """

    width: int
    height: int
    mode: str
    format: str
    orientation: int

    @property
    def oriented_size(self) -> tuple[int, int]:
        """(width, height) after EXIF orientation (orientations 5-8 swap the sides)."""
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)


def read_header(path: Path | str) -> ImageHeader:
    """Read size, mode, format and EXIF orientation from the header only (no pixel decoding).

    Raises ImageDecodeError for a missing, empty or unidentifiable file, and for a header so large
    that PIL refuses to open it (decompression bomb; the message keeps PIL's stated size).
    """
    path = Path(path)
    with _decode_errors(str(path)), _open(path, str(path)) as image:
        try:
            orientation = int(image.getexif().get(EXIF_ORIENTATION_TAG, 1) or 1)
        except Exception:  # a malformed EXIF block is not fatal: treat it as "as stored"
            orientation = 1
        if orientation not in range(1, 9):
            orientation = 1
        return ImageHeader(image.size[0], image.size[1], image.mode, image.format or "", orientation)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = float(array.max()) or 1.0
        return Image.fromarray((array / top * 255.0).astype(np.uint8), mode="L").convert("RGB")
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        span = float(array.max() - array.min()) or 1.0
        return Image.fromarray(((array - array.min()) / span * 255).astype(np.uint8)).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def load_rgb(source: Source, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None) -> Image.Image:
    """Open, fully decode and normalise one photo (a file, or its bytes) to an 8-bit RGB PIL image,
    EXIF orientation applied. name: what messages call the photo (default: the path, or "photo").

    Raises ImageDecodeError (with the file name and reason, and a `kind`) for a missing, empty,
    undecodable, truncated or too large photo.
    """
    label = name or (str(source) if not isinstance(source, bytes) else "photo")
    with _decode_errors(label), _open(source, label) as image:
        width, height = image.size
        if width * height > max_pixels:
            raise ImageTooLargeError(
                f"{label}: {width}x{height} = {width * height} pixels exceeds the limit of {max_pixels}"
            )
        image.load()
        oriented = ImageOps.exif_transpose(image) or image
        return _to_rgb(oriented)
