"""Deterministic train / query / unknown / calibration split of a validated manifest.

Assignments come from a seeded hash of the image id (and of the landmark name for the unknown and
calibration landmarks), so they stay stable when photos are added or removed elsewhere in the database.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from landmark.data.manifest import (
    NON_LANDMARK,
    SPLIT_CALIBRATION,
    SPLIT_QUERY,
    SPLIT_TRAIN,
    SPLIT_UNKNOWN,
)
from landmark.params import SplitParams


def stable_unit(seed: int, key: str) -> float:
    """A reproducible number in [0, 1) from a seed and a string (no process-dependent hashing)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose_unknown_landmarks(landmarks: list[str], count: int, seed: int, skip: int = 0) -> list[str]:
    """The `count` landmarks left out of training and the index, chosen by seeded hash, after the first
    `skip` of the same ranking (the unknown landmarks come first, then the calibration ones); at least one
    landmark always stays known."""
    ranked = sorted(set(landmarks), key=lambda name: stable_unit(seed, f"unknown:{name}"))
    start = max(0, min(skip, len(ranked) - 1))
    return sorted(ranked[start: start + max(0, min(count, len(ranked) - 1 - start))])


def assign_splits(manifest: pd.DataFrame, params: SplitParams) -> pd.DataFrame:
    """A copy of `manifest` with a `split` column.

    Landmark photos: `unknown` for the left-out landmarks (evaluation queries that must be rejected),
    `calibration` for every photo of the `calibration_landmarks` next ones (unseen landmarks the
    threshold must reject: landmark.retrieval.unseen_landmarks); else `query` for about `query_fraction`
    of each landmark (at least one photo stays in `train`), `train` for the rest. Non-landmark photos:
    `train` / `calibration` / `query` by the shares in params.
    """
    if not 0.0 <= params.query_fraction < 1.0:
        raise ValueError(f"split.query_fraction must be in [0, 1), got {params.query_fraction}")
    if params.non_landmark_train + params.non_landmark_calibration > 1.0:
        raise ValueError("split.non_landmark_train + split.non_landmark_calibration must be <= 1")
    if params.unknown_landmarks < 0 or params.calibration_landmarks < 0:
        raise ValueError("split.unknown_landmarks and split.calibration_landmarks must be >= 0")
    frame = manifest.copy()
    split = np.full(len(frame), SPLIT_TRAIN, dtype=object)
    landmark_mask = (frame["landmark"] != NON_LANDMARK).to_numpy()
    names = frame.loc[landmark_mask, "landmark"].tolist()
    unknown = set(choose_unknown_landmarks(names, params.unknown_landmarks, params.seed))
    calibrating = set(choose_unknown_landmarks(names, params.calibration_landmarks, params.seed,
                                               skip=len(unknown)))
    keys = np.array([stable_unit(params.seed, f"photo:{i}") for i in frame["image_id"]])
    positions = np.arange(len(frame))
    for name, group in frame[landmark_mask].groupby("landmark", sort=True):
        rows = positions[frame.index.get_indexer(group.index)]
        if name in unknown or name in calibrating:
            split[rows] = SPLIT_UNKNOWN if name in unknown else SPLIT_CALIBRATION
            continue
        order = rows[np.argsort(keys[rows], kind="stable")]
        n_query = min(int(round(params.query_fraction * len(order))), len(order) - 1)
        split[order[:n_query]] = SPLIT_QUERY
    non = positions[~landmark_mask]
    for row in non:
        u = keys[row]
        if u < params.non_landmark_train:
            split[row] = SPLIT_TRAIN
        elif u < params.non_landmark_train + params.non_landmark_calibration:
            split[row] = SPLIT_CALIBRATION
        else:
            split[row] = SPLIT_QUERY
    frame["split"] = split
    return frame


def split_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Counts per (kind, split) for the metrics file, e.g. `landmark_train`, `non_landmark_query`."""
    kind = np.where(frame["landmark"] == NON_LANDMARK, "non_landmark", "landmark")
    counts = pd.Series(1, index=pd.MultiIndex.from_arrays([kind, frame["split"]])).groupby(level=[0, 1]).sum()
    out = {f"{k}_{s}": int(v) for (k, s), v in counts.items()}
    out["rows"] = int(len(frame))
    out["landmarks_known"] = int(frame.loc[frame["split"].isin([SPLIT_TRAIN, SPLIT_QUERY])
                                           & (frame["landmark"] != NON_LANDMARK), "landmark"].nunique())
    out["landmarks_unknown"] = int(frame.loc[frame["split"] == SPLIT_UNKNOWN, "landmark"].nunique())
    out["landmarks_calibration"] = int(frame.loc[(frame["split"] == SPLIT_CALIBRATION)
                                                 & (frame["landmark"] != NON_LANDMARK), "landmark"].nunique())
    return out
