"""Per-landmark difficulty and the curriculum split into parts, easiest first.

difficulty = spread + removed_share + confusion, each in [0, 1]-ish:
  spread        1 - mean cosine similarity of the kept photos to their landmark's kept centroid
  removed_share share of the landmark's photos the cleaning removed
  confusion     max(0, cosine similarity of the landmark's centroid to the nearest other landmark's)
A landmark whose photos agree, that lost little to cleaning and looks like no other is easy.
Dropped landmarks get part 0 (they do not train).
"""

from __future__ import annotations

import faiss
import numpy as np
import pandas as pd


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def landmark_centroids(
    emb: np.ndarray, labels: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Kept-photo centroids: (names (L,), centroids (L, D) L2-normalised) for landmarks with kept photos."""
    labels = np.asarray(labels).astype(str)
    names = np.unique(labels[keep])
    centroids = (
        np.stack([emb[keep & (labels == n)].mean(axis=0) for n in names])
        if names.size
        else np.zeros((0, emb.shape[1]), np.float32)
    )
    return names, _normalise(centroids)


def centroid_similarity(emb: np.ndarray, labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(N,) cosine similarity of each photo to its landmark's kept centroid (0 when it has none)."""
    labels = np.asarray(labels).astype(str)
    names, centroids = landmark_centroids(emb, labels, keep)
    lookup = {n: i for i, n in enumerate(names)}
    out = np.zeros(labels.size, np.float32)
    for name, row in lookup.items():
        idx = labels == name
        out[idx] = emb[idx] @ centroids[row]
    return out


def difficulty_table(emb: np.ndarray, labels: np.ndarray, keep: np.ndarray, num_parts: int) -> pd.DataFrame:
    """One row per landmark: landmark, spread, removed_share, confusion, nearest_landmark, difficulty, part.

    emb (N, D) L2-normalised, labels (N,), keep (N,) bool. Parts 1..num_parts hold near-equal numbers
    of landmarks sorted by difficulty (ties by name); landmarks with no kept photo get part 0.
    """
    labels = np.asarray(labels).astype(str)
    keep = np.asarray(keep, bool)
    all_names = np.unique(labels)
    names, centroids = landmark_centroids(emb, labels, keep)
    sim = centroid_similarity(emb, labels, keep)
    confusion = np.zeros(names.size, np.float32)
    nearest = np.full(names.size, "", dtype=object)
    if names.size > 1:
        index = faiss.IndexFlatIP(centroids.shape[1])
        index.add(centroids)
        sims, ids = index.search(centroids, 2)
        other = np.where(ids[:, 0] == np.arange(names.size), 1, 0)
        confusion = np.maximum(sims[np.arange(names.size), other], 0.0)
        nearest = names[ids[np.arange(names.size), other]]
    rows = []
    for name in all_names:
        idx = labels == name
        kept = idx & keep
        pos = int(np.searchsorted(names, name))
        has = pos < names.size and names[pos] == name
        spread = float(1.0 - sim[kept].mean()) if kept.any() else 1.0
        removed_share = float(1.0 - kept.sum() / idx.sum())
        conf = float(confusion[pos]) if has else 1.0
        rows.append(
            {
                "landmark": name,
                "spread": spread,
                "removed_share": removed_share,
                "confusion": conf,
                "nearest_landmark": str(nearest[pos]) if has else "",
                "difficulty": spread + removed_share + conf,
                "part": 0,
                "has_kept": bool(has),
            }
        )
    table = pd.DataFrame(rows)
    live = table[table["has_kept"]].sort_values(["difficulty", "landmark"])
    parts = max(1, min(int(num_parts), len(live)))
    for part, chunk in enumerate(np.array_split(live.index.to_numpy(), parts), start=1):
        table.loc[chunk, "part"] = part
    return table.drop(columns="has_kept")
