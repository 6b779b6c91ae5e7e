"""The one photo check (landmark.data.photo_check): one reason vocabulary for import and validate."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from landmark.data import photo_check
from landmark.data.photo_check import PhotoLimits, check_photo
from landmark.validation import checks

LIMITS = PhotoLimits(max_file_bytes=50_000, max_pixels=100_000, min_side=16, max_side=1000)


def _png(path: Path, size: tuple[int, int], noise: bool = False) -> Path:
    pixels = np.random.default_rng(0).integers(0, 256 if noise else 1, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="PNG")
    return path


def test_a_good_photo_has_size_mode_hash_and_suffix(tmp_path: Path) -> None:
    path = _png(tmp_path / "a.bin", (40, 30))
    result = check_photo(path, LIMITS)
    assert result.ok and (result.width, result.height, result.mode) == (40, 30, "RGB")
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and result.suffix == ".png"


def test_each_failure_has_its_reason_and_names_the_photo(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not a photo")
    (tmp_path / "big.png").write_bytes(b"x" * 60_000)
    _png(tmp_path / "small.png", (10, 40))
    _png(tmp_path / "long.png", (1200, 20))
    _png(tmp_path / "many.png", (400, 400))
    expected = {
        "missing.png": photo_check.FILE_NOT_FOUND,
        "empty.png": photo_check.EMPTY,
        "text.png": photo_check.NOT_AN_IMAGE,
        "big.png": photo_check.TOO_LARGE_FILE,
        "small.png": photo_check.TOO_SMALL,
        "long.png": photo_check.TOO_LARGE_SIDE,
        "many.png": photo_check.TOO_MANY_PIXELS,
    }
    for name, reason in expected.items():
        result = check_photo(tmp_path / name, LIMITS, name=name)
        assert result.reason == reason and result.detail.startswith(name), (name, result)


def test_a_truncated_photo_and_the_validate_check_of_every_reason(tmp_path: Path) -> None:
    whole = _png(tmp_path / "whole.png", (64, 64), noise=True)
    (tmp_path / "cut.png").write_bytes(whole.read_bytes()[:2000])
    assert check_photo(tmp_path / "cut.png", LIMITS).reason in (photo_check.TRUNCATED, photo_check.NOT_AN_IMAGE)
    assert set(checks.FILE_CHECK_OF) == set(photo_check.REASONS)
    assert set(checks.FILE_CHECK_OF.values()) == set(checks.FILE_CHECKS)
