"""The whole cleaning of the landmark database as one pure function over arrays.

whitening (fitted on the photos given) -> per-landmark graph cleaning -> cross-landmark neighbour
evidence (photos more like another landmark's photos than their own's) -> near-duplicates across
landmarks (the member less like its landmark is removed) -> difficulty and curriculum parts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from landmark.cleaning.cross_evidence import evidence_and_rival, mutual_confusion
from landmark.cleaning.difficulty import centroid_similarity, difficulty_table
from landmark.cleaning.duplicates import duplicate_losers, find_cross_duplicates
from landmark.cleaning.graph import clean_database
from landmark.cleaning.whitening import fit_clean_whitening
from landmark.params import CleanParams

log = logging.getLogger(__name__)

REASON_DUPLICATE = "duplicate_across_landmarks"
# cross_evidence.neighbour_evidence > clean.cross_margin, unless the two landmarks are look-alikes (clean.twin_share)
REASON_OTHER_LANDMARK = "closer_to_another_landmark"


@dataclass(frozen=True)
class DatabaseCleaning:
    """keep/cluster/reason per photo (N,), the landmark table, the duplicate pairs, and totals."""

    keep: np.ndarray  # (N,) bool
    cluster: np.ndarray  # (N,) int32
    reason: np.ndarray  # (N,) object, "" for kept
    landmarks: pd.DataFrame  # stats + spread, removed_share, confusion, difficulty, part
    duplicates: pd.DataFrame  # i, j, landmark_i, landmark_j, similarity (row indices)
    metrics: dict[str, float]


def clean_landmark_photos(
    emb: np.ndarray, labels: np.ndarray, params: CleanParams, fit_emb: np.ndarray | None = None
) -> DatabaseCleaning:
    """Clean landmark photos. emb: (N, D) float32 L2-normalised; labels: (N,) landmark names.

    fit_emb (M, D): photos to fit the whitening on (default: emb; the stage passes all train photos,
    non-landmarks included).
    """
    labels = np.asarray(labels).astype(str)
    whitening = fit_clean_whitening(emb if fit_emb is None else fit_emb, params)
    space = whitening.apply(emb)
    graph = clean_database(space, labels, params)
    keep, reason = graph.keep.copy(), graph.reason.copy()
    evidence, rival = evidence_and_rival(space, labels, params.cross_k)
    flagged = evidence > params.cross_margin
    look_alike = mutual_confusion(labels, flagged, rival, params.twin_share)
    moved = keep & flagged & ~look_alike
    keep[moved] = False
    reason[moved] = REASON_OTHER_LANDMARK
    pairs = find_cross_duplicates(emb, labels, params.duplicate_similarity)
    losers = duplicate_losers(pairs, centroid_similarity(space, labels, keep))
    losers = losers[keep[losers]]
    keep[losers] = False
    reason[losers] = REASON_DUPLICATE
    difficulty = difficulty_table(space, labels, keep, params.num_parts)
    table = graph.landmarks.merge(difficulty, on="landmark", how="left")
    table["kept"] = [int((keep & (labels == n)).sum()) for n in table["landmark"]]
    table["removed"] = table["n_photos"] - table["kept"]
    table["dropped"] = table["kept"] == 0
    metrics = {
        "landmark_photos": int(labels.size),
        "kept_photos": int(keep.sum()),
        "removed_photos": int((~keep).sum()),
        "removed_share": float((~keep).mean()) if labels.size else 0.0,
        "landmarks": int(table.shape[0]),
        "landmarks_dropped": int(table["dropped"].sum()),
        "duplicate_pairs": int(len(pairs)),
        "closer_to_another_landmark": int(moved.sum()),
        "look_alike_kept": int((keep & look_alike).sum()),
        "whiten_dim": int(space.shape[1]),
    }
    log.info("cleaning: %s", metrics)
    return DatabaseCleaning(keep, graph.cluster, reason, table, pairs, metrics)
