"""Checking one photo file: the one place import and validate decide whether a file is a usable photo.

Order: a regular file exists -> size within `max_file_bytes` (and not empty) -> header readable ->
dimensions within bounds (before any pixel is decoded: the decompression-bomb guard) -> one full
decode through `load_rgb` (odd modes and EXIF orientation normalised there) -> sha256 of the bytes.
The first failure is the verdict. Each photo is decoded once per call.

The reason vocabulary is the `kind` of `landmark.data.images` errors plus the limits checked here;
import quarantines a row with the reason itself, validate groups reasons into its check names
(`landmark.validation.checks.FILE_CHECK_OF`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from landmark.data.images import (
    ImageDecodeError,
    ImageEmptyError,
    ImageMissingError,
    ImageTooLargeError,
    ImageTruncatedError,
    load_rgb,
    read_header,
)
from landmark.hashing import file_sha256
from landmark.params import ValidateParams

# reasons (the `kind` of landmark.data.images errors, then the limits of this module)
FILE_NOT_FOUND = ImageMissingError.kind  # no regular file at the path
EMPTY = ImageEmptyError.kind  # 0 bytes
NOT_AN_IMAGE = ImageDecodeError.kind  # no decodable image in the bytes
TRUNCATED = ImageTruncatedError.kind  # the image data ends early
TOO_MANY_PIXELS = ImageTooLargeError.kind  # width * height above max_pixels (bomb guard)
TOO_LARGE_FILE = "too_large_file"  # more bytes than max_file_bytes
TOO_SMALL = "too_small"  # a side below min_side
TOO_LARGE_SIDE = "too_large_side"  # a side above max_side

REASONS: tuple[str, ...] = (
    FILE_NOT_FOUND, EMPTY, TOO_LARGE_FILE, NOT_AN_IMAGE, TRUNCATED, TOO_MANY_PIXELS, TOO_SMALL, TOO_LARGE_SIDE,
)

FORMAT_SUFFIX: dict[str, str] = {
    "JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "MPO": ".jpg",
}


@dataclass(frozen=True)
class PhotoLimits:
    """What a usable photo file must satisfy; read from params.yaml `validate`."""

    max_file_bytes: int
    max_pixels: int
    min_side: int
    max_side: int

    @classmethod
    def from_params(cls, params: ValidateParams) -> PhotoLimits:
        """The limits of the `validate` params section."""
        return cls(params.max_file_bytes, params.max_pixels, params.min_side, params.max_side)

    @classmethod
    def for_import(cls, params: ValidateParams, max_file_bytes: int | None = None) -> PhotoLimits:
        """What `landmark data import` enforces: the `validate` byte and pixel limits (max_file_bytes
        overrides the byte limit when given); side limits are validate's and never bind here."""
        size = params.max_file_bytes if max_file_bytes is None else max_file_bytes
        return cls(size, params.max_pixels, min_side=1, max_side=params.max_pixels)


@dataclass(frozen=True)
class PhotoCheck:
    """Outcome of checking one photo file.

    reason: None when the photo is usable, else one of REASONS; detail: message naming the photo;
    width, height: decoded size after EXIF orientation; mode: PIL mode as stored in the file;
    orientation: EXIF orientation tag (1 = as stored); sha256: hex digest of the file bytes;
    suffix: file suffix of the decoded format (".jpg", ".png", ...).
    """

    reason: str | None
    detail: str = ""
    width: int = 0
    height: int = 0
    mode: str = ""
    orientation: int = 1
    sha256: str = ""
    suffix: str = ""

    @property
    def ok(self) -> bool:
        """True when the photo passed every check."""
        return self.reason is None


def _fail(reason: str, detail: str) -> PhotoCheck:
    return PhotoCheck(reason=reason, detail=detail)


def _tail(exc: Exception) -> str:
    """The reason part of an ImageDecodeError message (it starts with the file name)."""
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text else text


def _dimension_problem(width: int, height: int, limits: PhotoLimits) -> tuple[str, str] | None:
    if width * height > limits.max_pixels:
        return TOO_MANY_PIXELS, f"{width}x{height} = {width * height} pixels exceeds max_pixels {limits.max_pixels}"
    if max(width, height) > limits.max_side:
        return TOO_LARGE_SIDE, f"{width}x{height}: a side exceeds max_side {limits.max_side}"
    if min(width, height) < limits.min_side:
        return TOO_SMALL, f"{width}x{height}: a side is below min_side {limits.min_side}"
    return None


def check_photo(path: Path, limits: PhotoLimits, name: str | None = None) -> PhotoCheck:
    """Check one photo file against `limits`; name: what the detail calls it (default: the path).

    Never raises for a bad file: the verdict says why (reason + detail naming the photo).
    """
    path = Path(path)
    label = name or str(path)
    if not path.exists():
        return _fail(FILE_NOT_FOUND, f"{label}: no such file")
    if not path.is_file():
        return _fail(FILE_NOT_FOUND, f"{label}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        return _fail(EMPTY, f"{label}: empty file")
    if size > limits.max_file_bytes:
        return _fail(TOO_LARGE_FILE, f"{label}: {size} bytes exceeds max_file_bytes {limits.max_file_bytes}")
    try:
        header = read_header(path)
    except ImageTooLargeError as exc:
        return _fail(TOO_MANY_PIXELS, f"{label}: header too large, {_tail(exc)}")
    except ImageDecodeError as exc:
        return _fail(exc.kind, f"{label}: {_tail(exc)}")
    problem = _dimension_problem(header.width, header.height, limits)
    if problem is not None:
        return _fail(problem[0], f"{label}: {problem[1]}")
    digest = file_sha256(path)
    try:
        image = load_rgb(path, max_pixels=limits.max_pixels)
    except ImageDecodeError as exc:
        return _fail(exc.kind, f"{label}: {_tail(exc)}")
    width, height = image.size
    suffix = FORMAT_SUFFIX.get(header.format, path.suffix.lower() or ".img")
    return PhotoCheck(None, "", width, height, header.mode, header.orientation, digest, suffix)
