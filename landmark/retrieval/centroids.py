"""Per-landmark centroids ("shooting angles", paper section 3.4) by hierarchical clustering.

Each landmark's L2-normalised embeddings are clustered with scipy's agglomerative clustering
(average linkage on cosine distance), cut at a distance; clusters that are too small are merged
into the nearest big one, at most `max_centroids` are kept (the smallest merge first), and each
centroid is the re-normalised mean of its members.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from landmark.compute.engine import map_items

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CentroidSet:
    """All centroids of a database.

    vectors:  (C, D) float32, L2-normalised
    labels:   (C,) landmark of each centroid
    sizes:    (C,) number of photos behind each centroid
    """

    vectors: np.ndarray
    labels: np.ndarray
    sizes: np.ndarray

    def __len__(self) -> int:
        return int(self.vectors.shape[0])


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length: (N, D) -> (N, D) float32 (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def _means(x: np.ndarray, assign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = np.unique(assign)
    return np.stack([x[assign == i].mean(axis=0) for i in ids]), np.array([(assign == i).sum() for i in ids])


def cluster_landmark(
    x: np.ndarray, distance: float, max_centroids: int, min_photos: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster one landmark's photos into a few centroids.

    x: (n, D) float32, L2-normalised. Returns (k, D) float32 L2-normalised centroids (k <= max_centroids,
    k >= 1) and (k,) cluster sizes, biggest first.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"cluster_landmark needs a non-empty (n, D) array, got shape {x.shape}")
    if x.shape[0] == 1 or max_centroids <= 1:
        return l2_normalise(x.mean(axis=0, keepdims=True)), np.array([x.shape[0]])
    tree = linkage(x.astype(np.float64), method="average", metric="cosine")
    assign = fcluster(tree, t=distance, criterion="distance")
    # merge clusters that are too small, or beyond max_centroids, into the nearest remaining one
    while True:
        ids, counts = np.unique(assign, return_counts=True)
        if len(ids) <= 1:
            break
        order = np.argsort(counts, kind="stable")
        too_small = counts[order[0]] < min_photos
        if not too_small and len(ids) <= max_centroids:
            break
        victim = ids[order[0]]
        keep = ids[ids != victim]
        means = l2_normalise(np.stack([x[assign == i].mean(axis=0) for i in keep]))
        victim_mean = l2_normalise(x[assign == victim].mean(axis=0, keepdims=True))
        target = keep[int(np.argmax(means @ victim_mean[0]))]
        assign = np.where(assign == victim, target, assign)
    means, sizes = _means(x, assign)
    order = np.argsort(-sizes, kind="stable")
    return l2_normalise(means[order]), sizes[order]


def build_centroids(
    embeddings: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    distance: float,
    max_centroids: int,
    min_photos: int,
) -> CentroidSet:
    """Centroids of every landmark (one `cluster_landmark` each, on the active compute engine).

    embeddings: (N, D) float32, L2-normalised; labels: (N,) landmark per row.
    Returns a CentroidSet with landmarks in sorted order, each with 1..max_centroids centroids.
    """
    embeddings = np.asarray(embeddings, dtype=np.float32)
    labels = np.asarray(labels, dtype=object)
    if embeddings.shape[0] != labels.shape[0]:
        raise ValueError(f"{embeddings.shape[0]} embeddings but {labels.shape[0]} labels")
    vectors, out_labels, sizes = [], [], []
    names = sorted(set(labels.tolist()))
    cluster = functools.partial(cluster_landmark, distance=distance, max_centroids=max_centroids,
                                min_photos=min_photos)
    for landmark, (cents, counts) in zip(names, map_items(cluster, [embeddings[labels == n] for n in names]),
                                         strict=True):
        vectors.append(cents)
        out_labels.extend([landmark] * len(cents))
        sizes.append(counts)
    result = CentroidSet(
        np.concatenate(vectors).astype(np.float32),
        np.array(out_labels, dtype=object),
        np.concatenate(sizes).astype(np.int64),
    )
    log.info("%d centroids for %d landmarks", len(result), len(set(out_labels)))
    return result


def single_centroids(embeddings: np.ndarray, labels: Sequence[str] | np.ndarray) -> CentroidSet:
    """Baseline: one centroid (re-normalised mean) per landmark. (N, D) -> CentroidSet."""
    return build_centroids(embeddings, labels, distance=0.0, max_centroids=1, min_photos=1)


def photo_centroids(embeddings: np.ndarray, labels: Sequence[str] | np.ndarray) -> CentroidSet:
    """Baseline: every database photo is its own 'centroid' (nearest-photo search). (N, D) -> CentroidSet."""
    labels = np.asarray(labels, dtype=object)
    return CentroidSet(l2_normalise(embeddings), labels.copy(), np.ones(len(labels), dtype=np.int64))
