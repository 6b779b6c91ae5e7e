"""Calibration on photos of landmarks the index does not hold (split.calibration_landmarks).

A threshold calibrated on non-landmark photos alone lets photos of unseen landmarks through: on make
run's sample world 59% of the unknown landmarks' photos passed it, on the real-photo folds 19.6%
(docs/evaluation.md). The photos that set a low-FPR threshold are unseen buildings of the same kind
as a known one, so the threshold needs such photos among its must-reject ones. The split keeps a few
whole landmarks out of training and the index; the index stage scores their photos like queries and
the stored threshold is the higher of the non-landmark one and the one at the same FPR on them
(left_out.with_left_out_floor).

A landmark database is noisy: some photos filed under a calibration landmark show a known landmark,
and the index rightly accepts those. One such photo would set the floor (on the sample world: 0.757
with them, 0.398 without). A photo counts only when it is at least as close to its own landmark's
other photos (the mean cosine of the `knn` most similar, trained embeddings) as to the database's
answer (its acceptance score); on the sample world that kept 82 of 90 photos and gave the floor of
the photos known to be correctly filed (0.398).
"""

from __future__ import annotations

import numpy as np

from landmark.cleaning.graph import knn_graph


def own_landmark_similarity(embeddings: np.ndarray, labels: np.ndarray, knn: int = 3) -> np.ndarray:
    """(N,) float64: each photo's mean cosine to the `knn` most similar other photos filed under its
    landmark (all of them when fewer; -1 for a landmark's only photo). embeddings (N, D) L2-normalised."""
    if knn < 1:
        raise ValueError(f"knn must be >= 1, got {knn}")
    embeddings = np.asarray(embeddings, dtype=np.float32)
    labels = np.asarray(labels).astype(str)
    if embeddings.ndim != 2 or len(embeddings) != len(labels):
        raise ValueError(f"{embeddings.shape} embeddings for {len(labels)} labels")
    out = np.full(len(labels), -1.0)
    for name in np.unique(labels):
        rows = np.flatnonzero(labels == name)
        if rows.size >= 2:  # the cleaning's kNN graph: the k most similar others, self excluded
            out[rows] = knn_graph(embeddings[rows], knn)[0].mean(axis=1)
    return out


def counted(scores: np.ndarray, own: np.ndarray) -> np.ndarray:
    """(N,) bool: the calibration photos that count as unseen-landmark photos: their own landmark's
    photos are at least as close as the database's answer (`scores`: acceptance scores of the same
    photos against the index; `own`: own_landmark_similarity)."""
    scores, own = np.asarray(scores, dtype=np.float64), np.asarray(own, dtype=np.float64)
    if scores.shape != own.shape:
        raise ValueError(f"{scores.shape} scores but {own.shape} own-landmark similarities")
    return own >= scores
