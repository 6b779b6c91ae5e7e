"""Row semantics of validate_manifest: order of checks, keep-first duplicates, the per-landmark minimum
after the row checks, non-landmark exemption, broken tables, the rows_in = kept + quarantined invariant."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from landmark.data.manifest import NON_LANDMARK, ManifestError
from landmark.params import ValidateParams
from landmark.validation import checks
from landmark.validation.validate import check_table, validate_manifest

PARAMS = ValidateParams(
    min_photos_per_landmark=3, min_side=16, max_side=512, max_pixels=250_000, max_file_bytes=1_000_000
)


def _photo(root: Path, name: str, shade: int = 0) -> str:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 24), (shade, 40, 90)).save(root / name)
    return name


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    """A: 4 rows, 2 of them bad -> falls below 3 after row checks; B: 3 good; N: 1 non-landmark;
    a duplicate id whose first row is good; the frame has a non-default index."""
    root = tmp_path_factory.mktemp("rows")
    rows = [
        ("a1", _photo(root, "A/1.png", 1), "A"),
        ("a2", _photo(root, "A/2.png", 2), "A"),
        ("a3", "A/missing.png", "A"),
        ("a4", "../A/4.png", "A"),
        ("b1", _photo(root, "B/1.png", 3), "B"),
        ("b2", _photo(root, "B/2.png", 4), "B"),
        ("b3", _photo(root, "B/3.png", 5), "B"),
        ("b1", _photo(root, "B/4.png", 6), "B"),  # duplicate id: the first b1 is kept
        ("n1", _photo(root, "N/1.png", 7), NON_LANDMARK),
    ]
    frame = pd.DataFrame(rows, columns=["image_id", "path", "landmark"], index=range(100, 100 + len(rows)))
    return frame, root


@pytest.fixture(scope="module")
def result(world: tuple[pd.DataFrame, Path]):  # type: ignore[no-untyped-def]
    frame, root = world
    return validate_manifest(frame, root, PARAMS, workers=2)


def _check_of(result, row: int) -> str | None:  # type: ignore[no-untyped-def]
    q = result.quarantine[result.quarantine["row"] == row]
    return None if q.empty else checks.check_of(str(q.iloc[0]["reason"]))


def test_row_checks_come_before_the_landmark_minimum(result) -> None:  # type: ignore[no-untyped-def]
    assert _check_of(result, 3) == checks.FILE_MISSING
    assert _check_of(result, 4) == checks.PATH
    # A had 4 rows (>= 3) but keeps only 2 after the row checks: its good rows are quarantined too
    assert _check_of(result, 1) == checks.MIN_PHOTOS
    assert _check_of(result, 2) == checks.MIN_PHOTOS
    detail = result.quarantine.loc[result.quarantine["row"] == 1, "detail"].iloc[0]
    assert "'A' keeps 2 photo(s)" in detail


def test_duplicate_id_keeps_the_first(result) -> None:  # type: ignore[no-untyped-def]
    assert _check_of(result, 8) == checks.DUPLICATE_ID
    kept_b1 = result.kept[result.kept["image_id"] == "b1"]
    assert list(kept_b1["path"]) == ["B/1.png"]


def test_non_landmark_is_exempt_from_the_minimum(result) -> None:  # type: ignore[no-untyped-def]
    assert list(result.kept.loc[result.kept["landmark"] == NON_LANDMARK, "image_id"]) == ["n1"]


def test_kept_rows_in_input_order_with_file_columns(result) -> None:  # type: ignore[no-untyped-def]
    assert list(result.kept["image_id"]) == ["b1", "b2", "b3", "n1"]
    assert list(result.kept["width"]) == [32] * 4 and list(result.kept["height"]) == [24] * 4
    assert set(result.kept["mode"]) == {"RGB"}
    assert result.kept["sha256"].nunique() == 4
    assert list(result.kept.columns) == [
        "image_id",
        "path",
        "landmark",
        "lat",
        "lon",
        "city",
        "width",
        "height",
        "mode",
        "orientation",
        "sha256",
    ]


def test_metrics_and_invariant(result, world) -> None:  # type: ignore[no-untyped-def]
    m = result.metrics
    assert (m["rows_in"], m["kept"], m["quarantined"]) == (9, 4, 5)
    assert m["rows_in"] == m["kept"] + m["quarantined"]
    assert m["by_check"][checks.MIN_PHOTOS] == 2 and m["by_check"][checks.DUPLICATE_ID] == 1
    assert (m["landmarks"], m["landmark_photos"], m["non_landmark"]) == (1, 3, 1)
    assert list(result.quarantine.columns) == ["row", "image_id", "source", "reason", "detail"]
    assert sorted(result.quarantine["row"]) == [1, 2, 3, 4, 8]


def test_gx_reports_failing_rows_by_expectation(result) -> None:  # type: ignore[no-untyped-def]
    by_type = {(o.check, o.expectation): o for o in result.expectations}
    unique = by_type[(checks.DUPLICATE_ID, "expect_column_values_to_be_unique")]
    assert not unique.success and set(unique.unexpected_index) == {4, 7}  # both b1 rows; the first is kept
    in_set = by_type[(checks.MIN_PHOTOS, "expect_column_values_to_be_in_set")]
    assert set(in_set.unexpected_index) == {0, 1}


@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame({"image_id": ["a"], "landmark": ["A"]}), "missing required column(s) ['path']"),
        (pd.DataFrame({"image_id": [], "path": [], "landmark": []}), "has no rows"),
    ],
)
def test_broken_table_stops(frame: pd.DataFrame, message: str, tmp_path: Path) -> None:
    with pytest.raises(checks.BrokenTableError, match=re.escape(message)) as info:
        validate_manifest(frame, tmp_path, PARAMS, source="somewhere/manifest.csv")
    assert "somewhere/manifest.csv" in str(info.value)
    assert isinstance(info.value, checks.ValidationError) and isinstance(info.value, ManifestError)


def test_check_table_accepts_a_good_frame() -> None:
    check_table(pd.DataFrame({"image_id": ["a"], "path": ["a.png"], "landmark": ["A"]}))
