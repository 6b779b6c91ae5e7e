"""The served model's request contract: each row of the input frame becomes a photo or an error row.

A request is a dataframe with `image` (base64 of the photo file's bytes, any format PIL reads) and
optional `lat`, `lon` (degrees, where the photo was taken). Rows are independent: a bad row gets its
own answer with an `error_kind` and a message, the good rows of the same request are recognised.
A request with more rows than `max_photos` gets an error row for every row (kind too_many_photos):
nothing is decoded, and the answer still has one row per input row.

Error kinds of a row (the decode kinds come from `landmark.data.images`):
  too_many_photos  the request has more rows than max_photos (every row gets it)
  missing_column   the request has no `image` column
  empty            no photo (null, "" or 0 bytes)
  bad_base64       `image` is not base64 text
  too_large        the photo's bytes exceed `max_photo_bytes`
  bad_location     lat / lon given but not numbers in range (-90..90, -180..180), or only one of them
  not_an_image     the bytes are no image PIL can decode
  truncated        the image data ends early
  too_many_pixels  the header states more pixels than allowed (decompression-bomb guard)
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

_WHITESPACE = re.compile(rb"\s+")


@dataclass(frozen=True)
class RequestLimits:
    """max_photos: rows per request; max_photo_bytes: decoded bytes per photo (params.yaml `serve`)."""

    max_photos: int
    max_photo_bytes: int


@dataclass(frozen=True)
class RowError:
    kind: str
    message: str


def decode_base64(value: Any, row: int, max_bytes: int) -> bytes | RowError:
    """One `image` cell -> the photo's bytes, or why not. Accepts str or bytes; whitespace and line
    breaks inside the text (MIME-style base64) are ignored."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return RowError("empty", f"row {row}: no photo (image is null)")
    if not isinstance(value, str | bytes):
        return RowError("bad_base64", f"row {row}: image must be base64 text, got {type(value).__name__}")
    text = value.encode("ascii", errors="replace") if isinstance(value, str) else value
    if not text.strip():
        return RowError("empty", f"row {row}: no photo (image is empty)")
    if len(text) * 3 // 4 > max_bytes + 3:  # checked before decoding anything
        return RowError("too_large", f"row {row}: photo of about {len(text) * 3 // 4} bytes exceeds {max_bytes}")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:
            raw = base64.b64decode(_WHITESPACE.sub(b"", text), validate=True)
        except (binascii.Error, ValueError) as exc:
            return RowError("bad_base64", f"row {row}: image is not valid base64 ({exc})")
    if not raw:
        return RowError("empty", f"row {row}: no photo (0 bytes)")
    if len(raw) > max_bytes:
        return RowError("too_large", f"row {row}: photo of {len(raw)} bytes exceeds {max_bytes}")
    return raw


def _location(lat: Any, lon: Any, row: int) -> tuple[float, float] | None | RowError:
    def number(v: Any) -> float | None:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        try:
            out = float(v)
        except (TypeError, ValueError):
            return math.inf  # not a number: reported below
        return None if math.isnan(out) else out

    a, b = number(lat), number(lon)
    if a is None and b is None:
        return None
    if a is None or b is None:
        return RowError("bad_location", f"row {row}: lat and lon must be given together (got {lat!r}, {lon!r})")
    if not (-90.0 <= a <= 90.0 and -180.0 <= b <= 180.0):
        return RowError("bad_location", f"row {row}: location ({lat!r}, {lon!r}) is not lat -90..90, lon -180..180")
    return (a, b)


@dataclass(frozen=True)
class ParsedRequest:
    """photos[i] / locations[i]: row i's bytes and location when errors[i] is None."""

    photos: list[bytes]
    locations: list[tuple[float, float] | None]
    errors: list[RowError | None]


def parse_request(frame: pd.DataFrame, limits: RequestLimits) -> ParsedRequest:
    """Input frame -> per-row photo bytes, location and error."""
    n = len(frame)
    if n > limits.max_photos:
        why = f"{n} photos in one request; at most {limits.max_photos} (send several requests)"
        return ParsedRequest([b""] * n, [None] * n, [RowError("too_many_photos", f"row {i}: {why}") for i in range(n)])
    photos: list[bytes] = [b""] * n
    locations: list[tuple[float, float] | None] = [None] * n
    errors: list[RowError | None] = [None] * n
    images = frame["image"].tolist() if "image" in frame else None
    lats = frame["lat"].tolist() if "lat" in frame else [None] * n
    lons = frame["lon"].tolist() if "lon" in frame else [None] * n
    for i in range(n):
        if images is None:
            errors[i] = RowError("missing_column", f"row {i}: the request has no 'image' column")
            continue
        where = _location(lats[i], lons[i], i)
        if isinstance(where, RowError):
            errors[i] = where
            continue
        raw = decode_base64(images[i], i, limits.max_photo_bytes)
        if isinstance(raw, RowError):
            errors[i] = raw
            continue
        photos[i], locations[i] = raw, where
    return ParsedRequest(photos, locations, errors)
