"""Cross-landmark neighbour evidence: is a photo more like another landmark's photos than its own's?

The per-landmark graph (graph.py) looks at one landmark's photos at a time, so a photo moved from
landmark A to B survives when it links to a few B photos. Looking across landmarks catches it: for
photo x filed under B, compare the mean similarity of its k nearest photos filed under B with the
same mean for the best other landmark. Evidence = other - own; > 0 means another landmark's photos
look more like x than its own landmark's do. On the real photos with injected noise this finds the
moved photos far better than the graph alone (docs/cleaning.md).

Neighbours come from one faiss search over all photos (`pool` nearest, exact up to 20k photos, IVF
above), so the cost grows like a kNN search, not like photos x landmarks. A landmark with fewer than k
photos among the pool counts its missing neighbours at the pool's lowest similarity.
"""

from __future__ import annotations

import numpy as np

from landmark.cleaning.duplicates import knn_search


def neighbour_evidence(emb: np.ndarray, labels: np.ndarray, k: int = 10, pool: int = 64) -> np.ndarray:
    """(N,) float32: best other landmark's mean top-k similarity minus the own landmark's.

    emb: (N, D) float32 L2-normalised (a whitened space works best); labels: (N,) landmark names.
    """
    return evidence_and_rival(emb, labels, k, pool)[0]


def evidence_and_rival(
    emb: np.ndarray, labels: np.ndarray, k: int = 10, pool: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """(evidence (N,) float32 as `neighbour_evidence`, rival (N,) object: the best other landmark's
    name, "" when no other landmark's photo is among the pool)."""
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    labels = np.asarray(labels).astype(str)
    n = len(labels)
    if emb.shape[0] != n:
        raise ValueError(f"{emb.shape[0]} embeddings but {n} labels")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if n < 2:
        return np.zeros(n, dtype=np.float32), np.full(n, "", dtype=object)
    names, codes = np.unique(labels, return_inverse=True)
    width = min(n - 1, max(pool, 4 * k))
    sims, ids = knn_search(emb, width + 1)
    not_self = ids != np.arange(n)[:, None]
    # drop each row's own entry (or the last one, when a duplicate pushed it out), keep `width`
    order = np.argsort(~not_self, axis=1, kind="stable")[:, :width]
    sims = np.take_along_axis(sims, order, axis=1)
    ids = np.take_along_axis(ids, order, axis=1)
    valid = ids >= 0
    floor = np.where(valid, sims, np.inf).min(axis=1)
    floor = np.where(np.isfinite(floor), floor, 0.0).astype(np.float32)
    neighbour_codes = np.where(valid, codes[np.clip(ids, 0, None)], -1)
    # rank of each neighbour among the row's neighbours of the same landmark (sims are sorted descending)
    rows = np.repeat(np.arange(n), width)
    flat_codes = neighbour_codes.ravel()
    key = rows.astype(np.int64) * (len(names) + 1) + (flat_codes + 1)
    sort = np.argsort(key, kind="stable")
    sorted_key = key[sort]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_key)) + 1]
    rank = np.empty(len(key), dtype=np.int64)
    rank[sort] = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    use = (rank < k) & (flat_codes >= 0)
    groups, inverse = np.unique(key[use], return_inverse=True)
    total = np.bincount(inverse, weights=sims.ravel()[use].astype(np.float64))
    count = np.bincount(inverse)
    group_row = groups // (len(names) + 1)
    group_code = groups % (len(names) + 1) - 1
    mean = (total + (k - count) * floor[group_row]) / k  # missing neighbours at the row's floor
    own = floor.astype(np.float64).copy()
    other = floor.astype(np.float64).copy()
    is_own = group_code == codes[group_row]
    own[group_row[is_own]] = mean[is_own]
    np.maximum.at(other, group_row[~is_own], mean[~is_own])
    rival = np.full(n, "", dtype=object)
    rows_o, codes_o, mean_o = group_row[~is_own], group_code[~is_own], mean[~is_own]
    best = np.lexsort((-mean_o, rows_o))  # per row, the highest mean first
    first = best[np.r_[True, np.diff(rows_o[best]) != 0]] if best.size else best
    rival[rows_o[first]] = names[codes_o[first]]
    return (other - own).astype(np.float32), rival


def mutual_confusion(labels: np.ndarray, flagged: np.ndarray, rival: np.ndarray, min_share: float) -> np.ndarray:
    """(N,) bool: flagged photos whose landmark and rival confuse each other both ways.

    Random mislabels flow one way (the photos of B filed under A point to B; B's own photos do not
    point to A). Two landmarks that simply look alike (twin towers, two similar churches) send many
    photos each way: when at least `min_share` of A's photos point to B AND of B's to A, the pair is
    a look-alike, not noise, and its photos are not removed for pointing at each other.
    """
    labels = np.asarray(labels).astype(str)
    flagged = np.asarray(flagged, dtype=bool)
    out = np.zeros(labels.size, dtype=bool)
    if min_share <= 0 or not flagged.any():
        return out
    sizes = dict(zip(*np.unique(labels, return_counts=True), strict=True))
    pairs, counts = np.unique(np.stack([labels[flagged], rival[flagged].astype(str)]), axis=1, return_counts=True)
    share = {(a, b): c / sizes[a] for (a, b), c in zip(pairs.T, counts, strict=True)}
    for (a, b), value in share.items():
        if value >= min_share and share.get((b, a), 0.0) >= min_share:
            out |= flagged & (labels == a) & (rival == b)
    return out
