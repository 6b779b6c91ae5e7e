"""The emulated user collection: few landmark photos among many that must be rejected.

From the split manifest: held-out photos of known landmarks (split == query), subsampled so they are
`landmark_share` of the collection (but at least `min_landmark_queries` when available); every photo
of the landmarks left out of the index (split == unknown: must be rejected); and the non-landmark
query photos. Column `truth` holds the landmark to answer, or "" for a photo that must be rejected;
column `role` is known / unknown / non_landmark.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from landmark.data.manifest import SPLIT_QUERY, SPLIT_UNKNOWN, is_landmark

log = logging.getLogger(__name__)


def landmark_count(n_reject: int, available: int, share: float, minimum: int) -> int:
    """How many landmark photos make them `share` of a collection with n_reject other photos."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"evaluate.landmark_share must be in (0, 1), got {share}")
    wanted = int(round(share * n_reject / (1.0 - share)))
    return int(min(available, max(wanted, minimum)))


def emulated_collection(
    split_manifest: pd.DataFrame, known_landmarks: set[str], share: float, minimum: int, seed: int
) -> pd.DataFrame:
    """Rows of the collection (manifest columns + truth + role), shuffled with `seed`."""
    if "split" not in split_manifest.columns:
        raise ValueError("the split manifest has no `split` column")
    lm = is_landmark(split_manifest)
    query = split_manifest["split"] == SPLIT_QUERY
    known = split_manifest[query & lm & split_manifest["landmark"].isin(known_landmarks)].assign(role="known")
    unknown = split_manifest[
        (split_manifest["split"] == SPLIT_UNKNOWN)
        | (query & lm & ~split_manifest["landmark"].isin(known_landmarks))
    ]
    unknown = unknown[is_landmark(unknown)].assign(role="unknown")
    non_lm = split_manifest[query & ~lm].assign(role="non_landmark")
    n_reject = len(unknown) + len(non_lm)
    n_known = landmark_count(n_reject, len(known), share, minimum)
    rng = np.random.default_rng(seed)
    picked = (
        known.iloc[np.sort(rng.choice(len(known), size=n_known, replace=False))] if n_known else known[:0]
    )
    frame = pd.concat([picked, unknown, non_lm], ignore_index=True)
    frame["truth"] = np.where(frame["role"] == "known", frame["landmark"], "")
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    log.info(
        "collection: %d known-landmark, %d unknown-landmark, %d non-landmark photos (share %.3f)",
        n_known,
        len(unknown),
        len(non_lm),
        n_known / max(1, len(frame)),
    )
    return frame


def truth_array(collection: pd.DataFrame) -> np.ndarray:
    """(N,) object: the landmark to answer, or None for a photo that must be rejected."""
    return np.array([t if t else None for t in collection["truth"].astype(str)], dtype=object)
