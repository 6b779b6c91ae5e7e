"""The served request contract: each row becomes photo bytes or its own error (hand-made rows)."""

from __future__ import annotations

import base64
import math

import pandas as pd
import pytest

from landmark.serving.request import RequestLimits, decode_base64, parse_request

LIMITS = RequestLimits(max_photos=4, max_photo_bytes=16)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_each_row_is_a_photo_or_an_error_of_its_own() -> None:
    frame = pd.DataFrame({
        "image": [_b64(b"0123456789"), "%%%", None, _b64(b"x" * 17)],
        "lat": [48.0, None, None, None],
        "lon": [2.0, None, None, None],
    })
    parsed = parse_request(frame, LIMITS)
    assert parsed.photos[0] == b"0123456789" and parsed.locations[0] == (48.0, 2.0)
    assert parsed.errors[0] is None
    assert [e.kind if e else None for e in parsed.errors] == [None, "bad_base64", "empty", "too_large"]
    assert all(e.message.startswith(f"row {i}:") for i, e in enumerate(parsed.errors) if e)


def test_mime_base64_with_line_breaks_is_accepted() -> None:
    text = _b64(b"0123456789")
    assert decode_base64(text[:8] + "\n" + text[8:], 0, 16) == b"0123456789"


@pytest.mark.parametrize(
    ("lat", "lon", "kind"),
    [(91.0, 0.0, "bad_location"), (0.0, -181.0, "bad_location"), (10.0, None, "bad_location"),
     ("north", 2.0, "bad_location"), (None, None, None), (math.nan, math.nan, None), (-90.0, 180.0, None)],
)
def test_locations(lat: object, lon: object, kind: str | None) -> None:
    parsed = parse_request(pd.DataFrame({"image": [_b64(b"abc")], "lat": [lat], "lon": [lon]}), LIMITS)
    assert (parsed.errors[0].kind if parsed.errors[0] else None) == kind


def test_missing_image_column_answers_every_row() -> None:
    parsed = parse_request(pd.DataFrame({"lat": [1.0, 2.0]}), LIMITS)
    assert [e.kind for e in parsed.errors if e] == ["missing_column", "missing_column"]


def test_too_many_rows_answer_every_row_with_the_limit() -> None:
    parsed = parse_request(pd.DataFrame({"image": [_b64(b"a")] * 5}), LIMITS)
    assert [e.kind for e in parsed.errors if e] == ["too_many_photos"] * 5
    last = parsed.errors[4]
    assert last is not None and last.message == "row 4: 5 photos in one request; at most 4 (send several requests)"


def test_non_text_and_blank_images() -> None:
    assert decode_base64(12, 3, 16).kind == "bad_base64"  # type: ignore[union-attr]
    assert decode_base64("   ", 3, 16).kind == "empty"  # type: ignore[union-attr]
    assert decode_base64(b"", 3, 16).kind == "empty"  # type: ignore[union-attr]
