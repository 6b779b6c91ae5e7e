"""Graph-based cleaning of a landmark's photos (Boiarov & Tyantov 2019, section on database cleaning).

Per landmark: photos are vertices; each photo is joined to its k nearest neighbours (faiss, inner
product on L2-normalised embeddings, so cosine similarity) when their similarity is at least
`edge_similarity`; with `mutual_knn` only pairs that are in each other's k nearest neighbours are joined
(this stops small groups of wrong photos chaining onto the main cluster). Clusters are the connected
components. A cluster is valid when it holds at least `min_cluster_size` photos and at least
`min_cluster_share` of the landmark's photos. Photos outside valid clusters are removed; a landmark
with no valid cluster is dropped. Memory is O(n k) per landmark: no all-pairs matrix is built.
Each landmark is independent, so `clean_landmark` can fan out over shards.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import faiss
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from landmark.compute.engine import map_items
from landmark.params import CleanParams

log = logging.getLogger(__name__)

DENSE_MAX = 1024  # landmarks up to this many photos use a dense (n, n) block, larger ones faiss
REASON_ISOLATED = "isolated"  # no edge to any other photo of its landmark
REASON_SMALL_CLUSTER = "small_cluster"  # in a cluster too small to be valid
REASON_LANDMARK_DROPPED = "landmark_dropped"  # the landmark has no valid cluster at all


@dataclass(frozen=True)
class LandmarkCleaning:
    """Result for one landmark of n photos."""

    keep: np.ndarray  # (n,) bool
    cluster: np.ndarray  # (n,) int32, 0 = largest component, 1 = next, ...
    valid: np.ndarray  # (n_clusters,) bool, which clusters are valid
    reason: np.ndarray  # (n,) object, "" for kept photos
    mean_knn_similarity: float  # mean similarity of the photos' kNN edges (before thresholding)
    n_edges: int

    @property
    def n_clusters(self) -> int:
        return int(self.valid.size)

    @property
    def dropped(self) -> bool:
        return not bool(self.valid.any())


def knn_graph(emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours of each photo among the others.

    emb: (n, D) float32, L2-normalised -> (sims (n, k'), ids (n, k')) with k' = min(k, n - 1), self
    excluded, most similar first.
    """
    n = emb.shape[0]
    k_eff = min(k, n - 1)
    if k_eff <= 0:
        return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)
    x = np.ascontiguousarray(emb, dtype=np.float32)
    if n <= DENSE_MAX:
        # a small landmark: one (n, n) block in numpy is cheaper than faiss's per-call threading overhead
        block = x @ x.T
        np.fill_diagonal(block, -np.inf)
        ids = np.argpartition(-block, k_eff - 1, axis=1)[:, :k_eff]
        sims = np.take_along_axis(block, ids, 1)
        order = np.argsort(-sims, axis=1, kind="stable")
        return np.take_along_axis(sims, order, 1), np.take_along_axis(ids, order, 1).astype(np.int64)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    sims, ids = index.search(x, k_eff + 1)
    rows = np.arange(n)[:, None]
    not_self = ids != rows
    # drop self (normally column 0; with exact duplicates self may sit elsewhere), keep k_eff
    order = np.argsort(~not_self, axis=1, kind="stable")[:, :k_eff]
    return np.take_along_axis(sims, order, 1), np.take_along_axis(ids, order, 1)


def clean_landmark(emb: np.ndarray, params: CleanParams) -> LandmarkCleaning:
    """Clean one landmark. emb: (n, D) float32, L2-normalised. Pure function."""
    n = int(emb.shape[0])
    if n == 0:
        empty = np.zeros(0, dtype=bool)
        return LandmarkCleaning(empty, np.zeros(0, np.int32), empty, np.zeros(0, object), 0.0, 0)
    sims, ids = knn_graph(emb, params.k)
    rows = np.repeat(np.arange(n), sims.shape[1])
    cols = ids.ravel()
    strong = (sims.ravel() >= params.edge_similarity) & (cols >= 0)
    rows, cols = rows[strong], cols[strong]
    adjacency = coo_matrix((np.ones(rows.size, np.int8), (rows, cols)), shape=(n, n)).tocsr()
    if params.mutual_knn:
        adjacency = adjacency.multiply(adjacency.T).tocsr()
    else:
        adjacency = adjacency.maximum(adjacency.T).tocsr()
    _, raw_labels = connected_components(adjacency, directed=False)
    sizes = np.bincount(raw_labels)
    # relabel: largest component first (ties by first photo), so labels are stable and readable
    order = sorted(range(sizes.size), key=lambda c: (-sizes[c], int(np.argmax(raw_labels == c))))
    relabel = np.empty(sizes.size, np.int32)
    relabel[order] = np.arange(sizes.size, dtype=np.int32)
    cluster = relabel[raw_labels]
    sizes = np.bincount(cluster)
    valid = (sizes >= params.min_cluster_size) & (sizes >= params.min_cluster_share * n)
    keep = valid[cluster]
    reason = np.full(n, "", dtype=object)
    if not valid.any():
        reason[:] = REASON_LANDMARK_DROPPED
    else:
        reason[~keep & (sizes[cluster] == 1)] = REASON_ISOLATED
        reason[~keep & (sizes[cluster] > 1)] = REASON_SMALL_CLUSTER
    mean_sim = float(sims.mean()) if sims.size else 0.0
    return LandmarkCleaning(keep, cluster, valid, reason, mean_sim, int(adjacency.nnz // 2))


@dataclass(frozen=True)
class CleaningResult:
    """Cleaning of a whole database of N landmark photos."""

    keep: np.ndarray  # (N,) bool
    cluster: np.ndarray  # (N,) int32, cluster label within the photo's landmark
    reason: np.ndarray  # (N,) object, "" for kept photos
    landmarks: pd.DataFrame  # one row per landmark: see clean_database


def clean_database(emb: np.ndarray, labels: np.ndarray, params: CleanParams) -> CleaningResult:
    """Clean every landmark independently (one `clean_landmark` each, on the active compute engine).

    emb: (N, D) float32 L2-normalised; labels: (N,) landmark names. The landmarks table has
    landmark, n_photos, kept, removed, n_clusters, n_valid_clusters, largest_cluster, dropped,
    mean_knn_similarity, n_edges.
    """
    labels = np.asarray(labels).astype(str)
    if emb.shape[0] != labels.shape[0]:
        raise ValueError(f"clean_database: {emb.shape[0]} embeddings but {labels.shape[0]} labels")
    keep = np.zeros(labels.shape[0], dtype=bool)
    cluster = np.zeros(labels.shape[0], dtype=np.int32)
    reason = np.full(labels.shape[0], "", dtype=object)
    rows = []
    names, inverse = np.unique(labels, return_inverse=True)
    members = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[members], np.arange(names.size + 1))
    groups = [members[bounds[j] : bounds[j + 1]] for j in range(names.size)]
    results = map_items(functools.partial(clean_landmark, params=params), [emb[idx] for idx in groups])
    for name, idx, result in zip(names, groups, results, strict=True):
        keep[idx], cluster[idx], reason[idx] = result.keep, result.cluster, result.reason
        rows.append(
            {
                "landmark": name,
                "n_photos": int(idx.size),
                "kept": int(result.keep.sum()),
                "removed": int((~result.keep).sum()),
                "n_clusters": result.n_clusters,
                "n_valid_clusters": int(result.valid.sum()),
                "largest_cluster": int(np.bincount(result.cluster).max()) if idx.size else 0,
                "dropped": result.dropped,
                "mean_knn_similarity": result.mean_knn_similarity,
                "n_edges": result.n_edges,
            }
        )
    table = pd.DataFrame(rows)
    log.info(
        "cleaned %d landmarks: kept %d of %d photos, dropped %d landmarks",
        names.size,
        int(keep.sum()),
        keep.size,
        int(table["dropped"].sum()) if len(table) else 0,
    )
    return CleaningResult(keep, cluster, reason, table)
