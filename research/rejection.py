"""Alternative acceptance scores for rejecting photos the index should not answer.

The recognizer's score is the cosine similarity s1 of the nearest centroid. Two alternatives from the
field, measured in research.real_photos:

- margin: s1 - beta * s2, where s2 is the similarity of the nearest centroid of ANOTHER landmark. A
  photo of an unknown landmark is often about as close to two known landmarks; a true match is close
  to one only.
- negative penalty (GLR 2020 1st place, "non-landmark" re-scoring): s1 - weight * mean of the top-k
  similarities to non-landmark training photos. A photo that looks like the non-landmark photos the
  network saw is pushed down.

All scores keep the top-1 landmark; only the acceptance score changes. Shapes: queries (Q, D) float32
L2-normalised; negatives (M, D); results (Q,) float64.
"""

from __future__ import annotations

import numpy as np

from landmark.retrieval.index import CentroidIndex

SCORES = ("similarity", "margin", "negative_penalty")


def top_two_landmarks(index: CentroidIndex, queries: np.ndarray, k: int = 16) -> tuple[np.ndarray, ...]:
    """(top-1 landmark (Q,) object, s1 (Q,), s2 (Q,): best similarity of a different landmark, -1 if none)."""
    k = max(2, min(k, index.index.ntotal))
    sims, labels = index.search(queries, k)
    first = labels[:, 0]
    s1 = np.where(np.isfinite(sims[:, 0]), sims[:, 0], -1.0).astype(np.float64)
    other = (labels != first[:, None]) & np.isfinite(sims)
    s2 = np.where(other.any(axis=1), np.where(other, sims, -np.inf).max(axis=1), -1.0).astype(np.float64)
    return first, s1, s2


def negative_similarity(queries: np.ndarray, negatives: np.ndarray, k: int = 5) -> np.ndarray:
    """(Q,) mean of each query's top-k cosine similarities to the (M, D) negative photos (0 if M = 0)."""
    if len(negatives) == 0 or len(queries) == 0:
        return np.zeros(len(queries), dtype=np.float64)
    sims = np.asarray(queries, dtype=np.float32) @ np.asarray(negatives, dtype=np.float32).T
    k = min(k, sims.shape[1])
    top = -np.partition(-sims, k - 1, axis=1)[:, :k]
    return top.mean(axis=1).astype(np.float64)


def acceptance_scores(
    index: CentroidIndex,
    queries: np.ndarray,
    kind: str = "similarity",
    *,
    margin_beta: float = 1.0,
    negatives: np.ndarray | None = None,
    negative_k: int = 5,
    negative_weight: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(top-1 landmark (Q,) object, acceptance score (Q,) float64) under score `kind` (SCORES)."""
    if kind not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {kind!r}")
    first, s1, s2 = top_two_landmarks(index, queries)
    if kind == "similarity":
        return first, s1
    if kind == "margin":
        return first, s1 - margin_beta * s2
    neg = negative_similarity(queries, np.zeros((0, index.dim)) if negatives is None else negatives, negative_k)
    return first, s1 - negative_weight * neg
