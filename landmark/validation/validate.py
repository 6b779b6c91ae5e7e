"""`validate_manifest`: every manifest row ends up kept (with size, mode, hash) or quarantined with
the first check it failed. Order: GX row suite -> file checks -> per-landmark minimum (GX counts suite).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from landmark.data.manifest import NON_LANDMARK, OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from landmark.data.quarantine import QUARANTINE_COLUMNS
from landmark.params import ValidateParams
from landmark.validation import checks
from landmark.validation.files import FileVerdict, check_files
from landmark.validation.suite import (
    ExpectationOutcome,
    GxRunner,
    count_expectations,
    failing_rows,
    row_expectations,
)

log = logging.getLogger(__name__)

ADDED_COLUMNS: tuple[str, ...] = ("width", "height", "mode", "orientation", "sha256")


@dataclass
class ValidationResult:
    """kept: the input rows that passed, in input order, plus ADDED_COLUMNS (width/height after EXIF
    orientation, the file's original PIL mode, EXIF orientation tag, sha256 of the bytes);
    quarantine: the one quarantine format (landmark.data.quarantine.QUARANTINE_COLUMNS: row, image_id,
    source = the path, reason, detail), `row` = 1-based data row of the input (CSV line minus the header);
    metrics: counts (see `summarise`); expectations: every GX expectation's outcome, both suites."""

    kept: pd.DataFrame
    quarantine: pd.DataFrame
    metrics: dict[str, Any]
    expectations: list[ExpectationOutcome] = field(default_factory=list)


def check_table(manifest: pd.DataFrame, source: str = "manifest") -> None:
    """Stop on a broken table: raise BrokenTableError naming `source` and the problem."""
    missing = [c for c in REQUIRED_COLUMNS if c not in manifest.columns]
    if missing:
        raise checks.BrokenTableError(
            f"{source}: missing required column(s) {missing}; found {[str(c) for c in manifest.columns]}"
        )
    if len(manifest) == 0:
        raise checks.BrokenTableError(f"{source}: manifest has no rows")


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _row_reason(check: str, row: pd.Series, first_row: dict[str, int]) -> str:
    if check == checks.IMAGE_ID:
        return "image_id is empty"
    if check == checks.DUPLICATE_ID:
        return f"image_id {row['image_id']!r} already used by row {first_row.get(row['image_id'], '?')}"
    if check == checks.LABEL:
        return "landmark label is empty"
    if check == checks.PATH:
        return f"unsafe path {_text(row['path'])!r}: empty, absolute, with '..' or a backslash"
    return f"coordinates out of range: lat={row.get('lat')}, lon={row.get('lon')}"


def validate_manifest(
    manifest: pd.DataFrame,
    data_root: Path,
    params: ValidateParams,
    *,
    workers: int = 2,
    progress: bool = False,
    source: str = "manifest",
) -> ValidationResult:
    """Validate a manifest (N rows) against the files under `data_root`.

    Raises BrokenTableError (a ValidationError) when the table itself is unusable. Otherwise
    len(kept) + len(quarantine) == N, always.
    """
    start = time.perf_counter()
    check_table(manifest, source)
    frame = manifest.reset_index(drop=True).copy()
    for column in OPTIONAL_COLUMNS:  # the validated manifest always has the contract's columns
        if column not in frame.columns:
            frame[column] = "" if column == "city" else float("nan")
    for column in ("lat", "lon"):
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    runner = GxRunner()
    outcomes = runner.validate("rows", row_expectations(frame.columns), frame)

    failed: dict[int, tuple[str, str]] = {}
    ids = frame["image_id"].map(_text)
    first_row = {image_id: int(i) + 1 for i, image_id in ids.drop_duplicates(keep="first").items()}
    later_duplicates = set(frame.index[ids.duplicated(keep="first")])
    for check in checks.ROW_CHECKS:
        labels = failing_rows(outcomes, check)
        if check == checks.DUPLICATE_ID:
            labels &= later_duplicates
        for label in sorted(labels):
            failed.setdefault(int(label), (check, _row_reason(check, frame.loc[label], first_row)))

    pending = [i for i in frame.index if i not in failed]
    verdicts = check_files(
        Path(data_root),
        [_text(frame.at[i, "path"]) for i in pending],
        params,
        workers=workers,
        progress=progress,
    )
    passed: dict[int, FileVerdict] = {}
    for i, verdict in zip(pending, verdicts, strict=True):
        if verdict.check is None:
            passed[i] = verdict
        else:
            failed[i] = (str(verdict.photo.reason), verdict.photo.detail)

    survivors = frame.loc[sorted(passed), ["image_id", "landmark"]]
    if len(survivors):
        counts = survivors.loc[survivors["landmark"] != NON_LANDMARK, "landmark"].value_counts()
        allowed = counts[counts >= params.min_photos_per_landmark].index
        count_outcomes = runner.validate("counts", count_expectations(allowed), survivors)
        outcomes += count_outcomes
        for label in sorted(failing_rows(count_outcomes, checks.MIN_PHOTOS)):
            landmark = survivors.at[label, "landmark"]
            failed[int(label)] = (
                checks.MIN_PHOTOS,
                f"landmark {landmark!r} keeps {int(counts.get(landmark, 0))} "
                f"photo(s) after the row checks, fewer than {params.min_photos_per_landmark}",
            )
            passed.pop(int(label))

    kept = _kept_frame(frame, passed)
    quarantine = _quarantine_frame(frame, failed)
    assert len(kept) + len(quarantine) == len(frame), "every input row is kept or quarantined"
    metrics = summarise(len(frame), kept, quarantine, passed)
    metrics["seconds"] = round(time.perf_counter() - start, 3)
    log.info(
        "validated %d rows: kept %d, quarantined %d in %.1f s",
        len(frame),
        len(kept),
        len(quarantine),
        metrics["seconds"],
    )
    return ValidationResult(kept, quarantine, metrics, outcomes)


def _kept_frame(frame: pd.DataFrame, passed: dict[int, FileVerdict]) -> pd.DataFrame:
    order = sorted(passed)
    kept = frame.loc[order].copy()
    for column in ADDED_COLUMNS:
        kept[column] = [getattr(passed[i].photo, column) for i in order]
    return kept.reset_index(drop=True)


def _quarantine_frame(frame: pd.DataFrame, failed: dict[int, tuple[str, str]]) -> pd.DataFrame:
    rows = [
        {
            "row": i + 1,
            "image_id": _text(frame.at[i, "image_id"]),
            "source": _text(frame.at[i, "path"]),
            "reason": failed[i][0],
            "detail": failed[i][1],
        }
        for i in sorted(failed)
    ]
    return pd.DataFrame(rows, columns=list(QUARANTINE_COLUMNS))


def summarise(
    rows_in: int, kept: pd.DataFrame, quarantine: pd.DataFrame, passed: dict[int, FileVerdict]
) -> dict[str, Any]:
    """metrics.json: rows_in, kept, quarantined, by_check {check: rows}, landmarks (kept labels),
    landmark_photos, non_landmark (kept non-landmark photos), modes {original mode: rows},
    exif_rotated (kept rows with orientation != 1), duplicate_content (kept rows whose bytes repeat)."""
    by_check = Counter(checks.check_of(reason) for reason in quarantine["reason"])
    is_non = kept["landmark"] == NON_LANDMARK if len(kept) else pd.Series(dtype=bool)
    return {
        "rows_in": rows_in,
        "kept": len(kept),
        "quarantined": len(quarantine),
        "by_check": {check: int(by_check.get(check, 0)) for check in checks.ALL_CHECKS},
        "landmarks": int(kept.loc[~is_non, "landmark"].nunique()) if len(kept) else 0,
        "landmark_photos": int((~is_non).sum()) if len(kept) else 0,
        "non_landmark": int(is_non.sum()) if len(kept) else 0,
        "modes": dict(sorted(Counter(v.photo.mode for v in passed.values()).items())),
        "exif_rotated": sum(1 for v in passed.values() if v.photo.orientation != 1),
        "duplicate_content": int(kept["sha256"].duplicated().sum()) if len(kept) else 0,
    }
