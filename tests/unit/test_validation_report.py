"""Outputs of the validate stage from a hand-made result (no GX): files, escaping, flat metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from landmark.data.manifest import NON_LANDMARK, read_manifest
from landmark.validation import checks
from landmark.validation.report import flat_metrics, render_report, write_outputs
from landmark.validation.suite import ExpectationOutcome
from landmark.validation.validate import ValidationResult


def _result() -> ValidationResult:
    kept = pd.DataFrame(
        {
            "image_id": ["007", "b"],
            "path": ["a/1.jpg", "n/2.jpg"],
            "landmark": ["Tower", NON_LANDMARK],
            "width": [64, 40],
            "height": [48, 80],
            "mode": ["CMYK", "RGB"],
            "orientation": [1, 6],
            "sha256": ["0" * 64, "1" * 64],
        }
    )
    quarantine = pd.DataFrame(
        [
            {
                "row": 3,
                "image_id": "<script>x</script>",
                "source": "f/t.jpg",
                "reason": "not_an_image",
                "detail": "bad & odd",
            }
        ]
    )
    metrics = {
        "rows_in": 3,
        "kept": 2,
        "quarantined": 1,
        "by_check": {c: int(c == checks.DECODE) for c in checks.ALL_CHECKS},
        "landmarks": 1,
        "landmark_photos": 1,
        "non_landmark": 1,
        "modes": {"CMYK": 1, "RGB": 1},
        "exif_rotated": 1,
        "duplicate_content": 0,
        "seconds": 0.5,
    }
    outcome = ExpectationOutcome(checks.PATH, "expect_column_values_to_match_regex", "path", True, 0)
    return ValidationResult(kept, quarantine, metrics, [outcome])


def test_report_escapes_and_lists_everything() -> None:
    page = render_report(_result(), source="data/manifest.csv")
    assert "<script>" not in page and "&lt;script&gt;" in page and "bad &amp; odd" in page
    for text in (
        "Tower",
        "(non-landmark)",
        "expect_column_values_to_match_regex",
        "CMYK",
        checks.DESCRIPTIONS["decode"],
    ):
        assert text in page


def test_write_outputs(tmp_path: Path) -> None:
    paths = write_outputs(_result(), tmp_path / "validate")
    kept = read_manifest(paths["manifest.csv"])
    assert list(kept["image_id"]) == ["007", "b"]  # ids stay strings
    assert list(kept.columns[:4]) == ["image_id", "path", "landmark", "width"]  # contract columns first
    assert json.loads(paths["metrics.json"].read_text())["by_check"]["decode"] == 1
    assert pd.read_csv(paths["quarantine.csv"]).loc[0, "row"] == 3
    assert paths["report.html"].read_text().startswith("<!doctype html>")


def test_flat_metrics_for_mlflow() -> None:
    flat = flat_metrics(_result().metrics)
    assert flat["by_check.decode"] == 1.0 and flat["modes.CMYK"] == 1.0 and flat["kept"] == 2.0
    assert all(isinstance(v, float) for v in flat.values())
