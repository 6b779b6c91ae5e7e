"""A corpus of bad files and bad rows, generated in tmp_path, validated in ONE run (GX is slow to
start); each case states its expected outcome: kept (and how it is normalised) or quarantined by a check.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from landmark.data.manifest import NON_LANDMARK
from landmark.params import ValidateParams
from landmark.validation import checks
from landmark.validation.validate import ValidationResult, validate_manifest

PARAMS = ValidateParams(
    min_photos_per_landmark=5, min_side=32, max_side=4096, max_pixels=1_000_000, max_file_bytes=100_000
)
GOOD = "Good Landmark"  # has 6 clean photos, so cases filed under it never fall below the minimum


def noise(size: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, followed by a tiny (wrong) IDAT: nothing to decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def save(image: Image.Image, fmt: str, **kw: object) -> Callable[[Path], None]:
    return lambda p: image.save(p, fmt, **kw)


def truncated(fmt: str) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        Image.fromarray(noise((64, 64), 3)).save(p, fmt)
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])

    return make


def rotated_jpeg(p: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    Image.fromarray(noise((80, 40), 4)).save(p, "JPEG", exif=exif.tobytes())


def palette_with_alpha(p: Path) -> None:
    image = Image.fromarray(noise((48, 48), 5)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    image.save(p, "PNG", transparency=0)


@dataclass
class Case:
    name: str
    path: str
    make: Callable[[Path], None] | None  # writes the file at data_root/path; None: no file
    expect: str | None  # None = kept, else the quarantine check
    row: dict[str, object] = field(default_factory=dict)  # overrides of image_id / landmark / lat / lon
    mode: str | None = None  # expected original mode, for kept rows
    size: tuple[int, int] | None = None  # expected (width, height) after orientation, for kept rows
    link: str | None = None  # make a symlink instead: "out" (escapes the root), "in", "dangling"


RGB64 = Image.fromarray(noise((64, 64), 1))
CASES: list[Case] = [
    Case("missing_file", "m/missing.jpg", None, checks.FILE_MISSING),
    Case("dotdot_path", "../outside/real.jpg", None, checks.PATH),
    Case("dotdot_inside", "good/../good/1.jpg", None, checks.PATH),  # resolves inside, still refused
    Case("absolute_path", "ABSOLUTE", None, checks.PATH),
    Case("backslash_path", "a\\b.jpg", None, checks.PATH),
    Case("empty_path", "", None, checks.PATH),
    Case("symlink_escape", "links/escape.jpg", None, checks.PATH, link="out"),
    Case("symlink_inside", "links/inside.jpg", None, None, mode="RGB", link="in"),
    Case("dangling_symlink", "links/dangling.jpg", None, checks.FILE_MISSING, link="dangling"),
    Case("directory", "dir.jpg", lambda p: p.mkdir(), checks.FILE_MISSING),
    Case("empty_file", "f/empty.jpg", lambda p: p.write_bytes(b""), checks.FILE_SIZE),
    Case(
        "file_too_large",
        "f/large.png",
        lambda p: Image.fromarray(noise((300, 300), 2)).save(p),
        checks.FILE_SIZE,
    ),
    Case("text_as_jpg", "f/text.jpg", lambda p: p.write_text("just some text\n"), checks.DECODE),
    Case("html_as_jpg", "f/page.jpg", lambda p: p.write_text("<html><body>404</body></html>"), checks.DECODE),
    Case("truncated_jpeg", "f/trunc.jpg", truncated("JPEG"), checks.DECODE),
    Case("truncated_png", "f/trunc.png", truncated("PNG"), checks.DECODE),
    Case("one_pixel", "d/1x1.png", save(Image.new("RGB", (1, 1)), "PNG"), checks.DIMENSIONS),
    Case("too_small", "d/small.png", save(Image.new("RGB", (20, 100)), "PNG"), checks.DIMENSIONS),
    Case(
        "bomb_header",
        "d/bomb.png",
        lambda p: p.write_bytes(png_header_only(50_000, 50_000)),
        checks.DIMENSIONS,
    ),
    Case(
        "too_many_pixels", "d/mp.png", lambda p: p.write_bytes(png_header_only(1200, 1200)), checks.DIMENSIONS
    ),
    Case(
        "side_too_long", "d/long.png", lambda p: p.write_bytes(png_header_only(5000, 40)), checks.DIMENSIONS
    ),
    Case(
        "cmyk_jpeg",
        "k/cmyk.jpg",
        save(Image.new("CMYK", (64, 48), (0, 128, 128, 0)), "JPEG"),
        None,
        mode="CMYK",
        size=(64, 48),
    ),
    Case(
        "png_16bit",
        "k/i16.png",
        save(Image.fromarray((np.arange(4096, dtype=np.uint16) * 16).reshape(64, 64)), "PNG"),
        None,
        mode="I;16",
    ),
    Case(
        "palette_png",
        "k/p.png",
        save(RGB64.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        None,
        mode="P",
    ),
    Case("palette_alpha", "k/pa.png", palette_with_alpha, None, mode="P"),
    Case("rgba_png", "k/rgba.png", save(Image.new("RGBA", (40, 50), (1, 2, 3, 0)), "PNG"), None, mode="RGBA"),
    Case("greyscale", "k/l.jpg", save(Image.new("L", (64, 64), 90), "JPEG"), None, mode="L"),
    Case("grey_alpha", "k/la.png", save(Image.new("LA", (64, 64), (90, 128)), "PNG"), None, mode="LA"),
    Case("gif", "k/anim.gif", save(RGB64, "GIF"), None, mode="P"),
    Case("png_named_jpg", "k/really_png.jpg", save(RGB64, "PNG"), None, mode="RGB"),
    Case("exif_rotated", "k/rot.jpg", rotated_jpeg, None, mode="RGB", size=(40, 80)),
    Case("unicode_path", "Сан-Марко/фото 1 é.jpg", save(RGB64, "JPEG"), None, mode="RGB", size=(64, 64)),
    Case("non_landmark", "n/street.jpg", save(RGB64, "JPEG"), None, row={"landmark": NON_LANDMARK}),
    Case("duplicate_id", "g/dup.jpg", save(RGB64, "JPEG"), checks.DUPLICATE_ID, row={"image_id": "good-0"}),
    Case("empty_label", "r/nolabel.jpg", save(RGB64, "JPEG"), checks.LABEL, row={"landmark": ""}),
    Case("blank_label", "r/blank.jpg", save(RGB64, "JPEG"), checks.LABEL, row={"landmark": "   "}),
    Case("empty_image_id", "r/noid.jpg", save(RGB64, "JPEG"), checks.IMAGE_ID, row={"image_id": ""}),
    Case(
        "lat_out_of_range",
        "r/lat.jpg",
        save(RGB64, "JPEG"),
        checks.COORDINATES,
        row={"lat": 95.0, "lon": 10.0},
    ),
    Case("too_few_photos", "few/1.jpg", save(RGB64, "JPEG"), checks.MIN_PHOTOS, row={"landmark": "Lonely"}),
]


def _build(tmp: Path) -> tuple[pd.DataFrame, Path]:
    root = tmp / "data"
    outside = tmp / "outside"
    outside.mkdir(parents=True)
    Image.fromarray(noise((64, 64), 9)).save(outside / "real.jpg")
    rows = []
    for i in range(6):
        path = f"good/{i}.jpg"
        (root / "good").mkdir(parents=True, exist_ok=True)
        Image.fromarray(noise((64, 64), 10 + i)).save(root / path)
        rows.append({"image_id": f"good-{i}", "path": path, "landmark": GOOD})
    for case in CASES:
        path = str(outside / "real.jpg") if case.path == "ABSOLUTE" else case.path
        target = root / path
        if case.path and case.path != "ABSOLUTE" and ".." not in case.path and "\\" not in case.path:
            target.parent.mkdir(parents=True, exist_ok=True)
        if case.link is not None:
            source = {
                "out": outside / "real.jpg",
                "in": root / "good" / "0.jpg",
                "dangling": root / "nowhere.jpg",
            }
            os.symlink(source[case.link], target)
        elif case.make is not None:
            case.make(target)
        rows.append({"image_id": case.name, "path": path, "landmark": GOOD, **case.row})
    return pd.DataFrame(rows), root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, ValidationResult]:
    manifest, root = _build(tmp_path_factory.mktemp("bad_inputs"))
    return manifest, validate_manifest(manifest, root, PARAMS, workers=2)


def test_corpus_has_at_least_20_kinds_of_bad_input() -> None:
    assert len({c.name for c in CASES if c.expect is not None}) >= 20
    assert len({c.expect for c in CASES if c.expect is not None}) == len(checks.ALL_CHECKS)


def _outcome(
    corpus: tuple[pd.DataFrame, ValidationResult], case: Case
) -> tuple[str | None, pd.Series | None]:
    manifest, result = corpus
    row = 7 + CASES.index(case)  # 1-based data row: 6 good rows come first
    q = result.quarantine[result.quarantine["row"] == row]
    if len(q):
        return checks.check_of(str(q.iloc[0]["reason"])), None
    kept = result.kept[result.kept["image_id"] == manifest.loc[row - 1, "image_id"]]
    assert len(kept) == 1, f"row {row} is neither kept nor quarantined"
    return None, kept.iloc[0]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_outcome(corpus: tuple[pd.DataFrame, ValidationResult], case: Case) -> None:
    check, kept = _outcome(corpus, case)
    assert check == case.expect, f"{case.name}: expected {case.expect}, got {check}"
    if kept is not None:
        if case.mode is not None:
            assert kept["mode"] == case.mode
        if case.size is not None:
            assert (kept["width"], kept["height"]) == case.size
        assert len(kept["sha256"]) == 64


def test_invariant_and_good_rows(corpus: tuple[pd.DataFrame, ValidationResult]) -> None:
    manifest, result = corpus
    m = result.metrics
    assert m["rows_in"] == len(manifest) == m["kept"] + m["quarantined"]
    assert len(result.kept) + len(result.quarantine) == len(manifest)
    assert set(result.kept["image_id"]) >= {f"good-{i}" for i in range(6)}  # the first good-0 wins the id
    assert sum(m["by_check"].values()) == m["quarantined"]
    assert m["exif_rotated"] == 1
    assert m["non_landmark"] == 1


def test_quarantine_reasons_name_the_problem(corpus: tuple[pd.DataFrame, ValidationResult]) -> None:
    q = corpus[1].quarantine.set_index("image_id")
    assert "pixels exceeds max_pixels" in q.loc["too_many_pixels", "detail"]
    assert "decompression bomb" in q.loc["bomb_header", "detail"] or "50000" in q.loc["bomb_header", "detail"]
    assert "truncated" in q.loc["truncated_jpeg", "detail"]
    assert "outside the data root" in q.loc["symlink_escape", "detail"]
    assert "already used by row 1" in q.loc["good-0", "detail"]
    assert "Lonely" in q.loc["too_few_photos", "detail"]
