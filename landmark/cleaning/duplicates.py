"""Near-duplicate photos filed under two different landmarks (one of the two labels is wrong)."""

from __future__ import annotations

import faiss
import numpy as np
import pandas as pd

DUPLICATE_COLUMNS = ("i", "j", "landmark_i", "landmark_j", "similarity")
FLAT_MAX = 20_000  # above this many photos an IVF index (near-duplicates share a cell) replaces the flat one


def knn_search(x: np.ndarray, k: int, nprobe: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours of every row (itself included): exact up to FLAT_MAX rows, IVF above.

    Near-duplicates (similarity close to 1) fall into the same or a neighbouring IVF cell, so a few
    probes find them while the cost stays about N * (nlist + nprobe * N / nlist) * D.
    """
    n, dim = x.shape
    if n <= FLAT_MAX:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        nlist = int(4 * np.sqrt(n))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = x[np.random.default_rng(0).choice(n, min(n, 40 * nlist), replace=False)]
        index.train(sample)
        index.nprobe = nprobe
    index.add(x)
    return index.search(x, k)


def find_cross_duplicates(emb: np.ndarray, labels: np.ndarray, threshold: float, k: int = 8) -> pd.DataFrame:
    """Pairs (i < j) with cosine similarity >= threshold and different labels.

    emb: (N, D) float32 L2-normalised; labels: (N,). Each photo's k nearest neighbours are checked
    (faiss: exact IndexFlatIP up to FLAT_MAX photos, IndexIVFFlat above), so memory stays O(N k).
    Returns a frame with DUPLICATE_COLUMNS (row indices).
    """
    labels = np.asarray(labels).astype(str)
    n = emb.shape[0]
    if n < 2:
        return pd.DataFrame(columns=list(DUPLICATE_COLUMNS))
    x = np.ascontiguousarray(emb, dtype=np.float32)
    sims, ids = knn_search(x, min(k + 1, n))
    rows = np.repeat(np.arange(n), ids.shape[1])
    cols, vals = ids.ravel(), sims.ravel()
    hit = (cols >= 0) & (cols != rows) & (vals >= threshold)
    rows, cols, vals = rows[hit], cols[hit], vals[hit]
    hit = labels[rows] != labels[cols]
    i, j = np.minimum(rows[hit], cols[hit]), np.maximum(rows[hit], cols[hit])
    frame = pd.DataFrame({"i": i, "j": j, "similarity": vals[hit]})
    frame = (
        frame.sort_values("similarity", ascending=False).drop_duplicates(["i", "j"]).sort_values(["i", "j"])
    )
    frame["landmark_i"] = labels[frame["i"].to_numpy()]
    frame["landmark_j"] = labels[frame["j"].to_numpy()]
    return frame[list(DUPLICATE_COLUMNS)].reset_index(drop=True)


def duplicate_losers(pairs: pd.DataFrame, centroid_sim: np.ndarray) -> np.ndarray:
    """For each duplicate pair the member less similar to its landmark's centroid: (n_pairs,) row ids.

    centroid_sim: (N,) similarity of each photo to its own landmark's kept centroid.
    """
    if pairs.empty:
        return np.zeros(0, dtype=np.int64)
    i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    return np.unique(np.where(centroid_sim[i] >= centroid_sim[j], j, i)).astype(np.int64)
