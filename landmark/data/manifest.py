"""The one manifest format every stage reads and writes.

Columns (in order):
    image_id   str, unique, non-empty
    path       str, relative to the data root, forward slashes, no `..`
    landmark   str, the landmark label; NON_LANDMARK marks a photo without a landmark
    lat, lon   float or empty: where the landmark is (landmark photos) or where the photo was taken
    city       str or empty
Derived stages may append columns (`split`, `sha256`, `width`, `height`, ...): readers keep them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

NON_LANDMARK = "__non_landmark__"
REQUIRED_COLUMNS: tuple[str, ...] = ("image_id", "path", "landmark")
OPTIONAL_COLUMNS: tuple[str, ...] = ("lat", "lon", "city")
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MANIFEST_NAME = "manifest.csv"
NOISE_TRUTH_NAME = "noise_truth.csv"  # image_id, filed_landmark, true_landmark (sample world only)

# split values written by the split stage
SPLIT_TRAIN = "train"  # known landmark, database + training; or a non-landmark used in the softmax
SPLIT_QUERY = "query"  # held out for the evaluation collection
SPLIT_UNKNOWN = "unknown"  # a landmark left out of the index: must be rejected
SPLIT_CALIBRATION = "calibration"  # for the distance threshold: non-landmark photos, and the photos of
# split.calibration_landmarks whole landmarks kept out of training and the index (unseen landmarks)


class ManifestError(ValueError):
    """The table as a whole is unusable (missing columns, empty, unreadable)."""


def read_csv_table(path: Path, required: tuple[str, ...], what: str = "file") -> pd.DataFrame:
    """A CSV read as strings (ids such as `007` stay as written); ManifestError names the file when it
    is missing, unreadable or lacks a required column."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: {what} not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot be read as CSV: {exc}") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ManifestError(f"{path}: missing required column(s) {missing}; found {list(frame.columns)}")
    return frame


def read_manifest(path: Path) -> pd.DataFrame:
    """Read a manifest CSV as strings (ids such as `007` stay as written); lat/lon as float.

    Raises ManifestError naming the file when it cannot be read, is empty or lacks a required column.
    """
    frame = read_csv_table(path, REQUIRED_COLUMNS, what="manifest")
    if frame.empty:
        raise ManifestError(f"{path}: manifest has no rows")
    for column in OPTIONAL_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    for column in ("lat", "lon"):
        frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce")
    return frame


def write_manifest(frame: pd.DataFrame, path: Path) -> None:
    """Write a manifest with the standard columns first, then any extra columns."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = [c for c in COLUMNS if c in frame.columns] + [c for c in frame.columns if c not in COLUMNS]
    frame[ordered].to_csv(path, index=False)


def is_landmark(frame: pd.DataFrame) -> pd.Series:
    """Boolean mask of rows that show a landmark."""
    return frame["landmark"] != NON_LANDMARK
