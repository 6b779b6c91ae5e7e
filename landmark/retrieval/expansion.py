"""The standard retrieval tricks on L2-normalised embeddings (Radenović et al., "Fine-tuning CNN image
retrieval with no human annotation", alpha-weighted variants):

- database-side augmentation (DBA): each database vector becomes the weighted mean of itself and its
  top-k database neighbours, weights = cosine ** alpha (itself weighs 1; a neighbour with cosine <= 0
  weighs 0), re-normalised; the
  neighbours may be limited to photos of the same landmark (`labels`);
- alpha query expansion (alpha-QE): each query becomes the weighted mean of itself and its top-k
  database neighbours, the same weights, re-normalised.

k = 0 returns the input unchanged. Pure numpy, exact (brute-force) neighbours: databases here hold
thousands of photos.
"""

from __future__ import annotations

import numpy as np


def _check(name: str, x: np.ndarray) -> None:
    if x.ndim != 2:
        raise ValueError(f"{name}: expected (N, D) embeddings, got shape {x.shape}")


def _weighted_mean(x: np.ndarray, neighbours: np.ndarray, sims: np.ndarray, alpha: float) -> np.ndarray:
    """x (N, D) + sum_j w_ij * neighbours[j] with w = sims ** alpha where sims > 0, else 0 (also for
    -inf: no neighbour) -> (N, D) L2-normalised."""
    positive = sims > 0
    weights = np.where(positive, np.where(positive, sims, 1.0) ** alpha, 0.0)  # (N, k)
    mixed = x + np.einsum("nk,nkd->nd", weights, neighbours)
    norms = np.linalg.norm(mixed, axis=1, keepdims=True)
    return (mixed / np.maximum(norms, 1e-12)).astype(np.float32)


def _top_k(sims: np.ndarray, k: int) -> np.ndarray:
    """(N, M) similarities -> (N, min(k, M)) column indices of each row's k largest (excluded pairs,
    set to -inf, come last)."""
    k = min(k, sims.shape[1])
    return np.argpartition(-sims, k - 1, axis=1)[:, :k]


def database_augmentation(db: np.ndarray, k: int, alpha: float, labels: np.ndarray | None = None) -> np.ndarray:
    """(N, D) L2-normalised database -> (N, D) L2-normalised DBA'd database.

    Neighbours are the k most similar OTHER database photos (of the same label when `labels` (N,) is
    given; a photo with fewer same-label photos uses those it has)."""
    _check("database", db)
    if k < 0 or alpha < 0:
        raise ValueError(f"DBA needs k >= 0 and alpha >= 0, got k={k}, alpha={alpha}")
    if k == 0 or len(db) < 2:
        return db.astype(np.float32, copy=True)
    sims = db @ db.T
    np.fill_diagonal(sims, -np.inf)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(db),):
            raise ValueError(f"labels: expected ({len(db)},), got {labels.shape}")
        sims[labels[:, None] != labels[None, :]] = -np.inf
    idx = _top_k(sims, k)
    return _weighted_mean(db, db[idx], np.take_along_axis(sims, idx, axis=1), alpha)


def query_expansion(queries: np.ndarray, db: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """(Q, D) L2-normalised queries -> (Q, D) L2-normalised alpha-QE queries over the (N, D) database."""
    _check("queries", queries)
    _check("database", db)
    if k < 0 or alpha < 0:
        raise ValueError(f"QE needs k >= 0 and alpha >= 0, got k={k}, alpha={alpha}")
    if k == 0 or len(db) == 0 or len(queries) == 0:
        return queries.astype(np.float32, copy=True)
    sims = queries @ db.T
    idx = _top_k(sims, k)
    return _weighted_mean(queries, db[idx], np.take_along_axis(sims, idx, axis=1), alpha)
