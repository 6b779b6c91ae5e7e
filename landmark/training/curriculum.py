"""Curriculum: which manifest rows and classes each training stage uses.

Input: artifacts/clean/manifest.csv (manifest columns + `split` + `part`: 1..K for landmark rows, empty
for non-landmark rows). Stage k trains on the landmark rows of parts 1..k (every part when the
curriculum is off) plus the non-landmark rows, all with split == train. Classes are ordered by
(part, name), so stage k's classes extend stage k-1's and the head only grows.
"""

from __future__ import annotations

import pandas as pd

from landmark.data.manifest import NON_LANDMARK, SPLIT_TRAIN, is_landmark


class CurriculumError(ValueError):
    """The cleaned manifest lacks what the curriculum needs."""


def _parts(frame: pd.DataFrame) -> pd.Series:
    if "part" not in frame.columns:
        raise CurriculumError("manifest has no `part` column (written by the clean stage)")
    parts = pd.to_numeric(frame["part"].replace("", None), errors="coerce")
    bad = is_landmark(frame) & parts.isna()
    if bool(bad.any()):
        raise CurriculumError(
            f"landmark rows without a part, e.g. image_id {frame.loc[bad, 'image_id'].iloc[0]}"
        )
    return parts


def stage_rows(frame: pd.DataFrame, stage: int, curriculum: bool = True) -> pd.DataFrame:
    """Rows stage `stage` (1-based) trains on: landmark rows of parts <= stage + non-landmark rows."""
    if "split" in frame.columns:
        frame = frame[frame["split"] == SPLIT_TRAIN]
    parts = _parts(frame)
    landmark = is_landmark(frame)
    keep = ~landmark | (parts <= stage) if curriculum else pd.Series(True, index=frame.index)
    rows = frame[keep].reset_index(drop=True)
    if not bool(is_landmark(rows).any()):
        raise CurriculumError(f"stage {stage}: no landmark rows to train on")
    return rows


def class_order(frame: pd.DataFrame) -> list[str]:
    """[NON_LANDMARK] + landmark names sorted by (part, name): the head's class order."""
    parts = _parts(frame)
    table = pd.DataFrame({"landmark": frame["landmark"], "part": parts})[is_landmark(frame)]
    firsts = table.groupby("landmark")["part"].min().reset_index().sort_values(["part", "landmark"])
    return [NON_LANDMARK, *firsts["landmark"].tolist()]


def num_parts(frame: pd.DataFrame) -> int:
    """K, the number of curriculum parts in the manifest."""
    return int(_parts(frame).max())
