"""Building a recognizer's index from embeddings: centroids (or a baseline's vectors), faiss, threshold."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from landmark.params import IndexParams
from landmark.retrieval.centroids import CentroidSet, build_centroids, photo_centroids, single_centroids
from landmark.retrieval.expansion import database_augmentation
from landmark.retrieval.index import CentroidIndex, IndexConfig, make_faiss_index
from landmark.retrieval.threshold import Threshold, calibrate
from landmark.retrieval.whitening import fit_whitening

log = logging.getLogger(__name__)
VARIANTS = ("centroids", "single", "photos")  # several centroids (paper) | one per landmark | every photo


def centroid_set(
    embeddings: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    params: IndexParams,
    variant: str = "centroids",
) -> CentroidSet:
    """(N, D) L2-normalised database embeddings + (N,) labels -> the vectors the index will hold."""
    if variant == "centroids":
        return build_centroids(
            embeddings,
            labels,
            params.centroid_distance,
            params.max_centroids_per_landmark,
            params.min_photos_per_centroid,
        )
    if variant == "single":
        return single_centroids(embeddings, labels)
    if variant == "photos":
        return photo_centroids(embeddings, labels)
    raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")


MIN_WHITEN_DIM = 16


def whiten_dims(wanted: int, n_photos: int) -> int:
    """Dimensions the index whitening keeps for `n_photos` database photos (0: no whitening)."""
    if wanted <= 0:
        return 0
    dim = min(wanted, n_photos // 4)
    if dim < MIN_WHITEN_DIM:
        log.warning("index whitening off: %d database photos are too few for %d dimensions", n_photos, wanted)
        return 0
    return dim


def build_index(
    embeddings: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    params: IndexParams,
    variant: str = "centroids",
) -> CentroidIndex:
    """Centroids (per `variant`) in a faiss index of type params.type. With params.whiten_dim > 0 the
    centroids are taken in a whitened space fitted on `embeddings`, and the index whitens queries.
    The whitening keeps at most N // 4 dimensions (a covariance needs several photos per dimension)
    and is skipped, with a warning, when that leaves fewer than MIN_WHITEN_DIM. With params.dba_k > 0
    each database photo is first replaced by its DBA within its landmark (landmark.retrieval.expansion)."""
    if params.dba_k > 0:
        embeddings = database_augmentation(embeddings, params.dba_k, params.dba_alpha, np.asarray(labels, dtype=object))
    dim = whiten_dims(params.whiten_dim, len(embeddings))
    if dim <= 0:
        cs = centroid_set(embeddings, labels, params, variant)
        return CentroidIndex.build(cs.vectors, cs.labels, IndexConfig.from_params(params), cs.sizes)
    whitening = fit_whitening(embeddings, dim, params.whiten_shrinkage)
    cs = centroid_set(whitening.apply(embeddings), labels, params, variant)
    inner = make_faiss_index(cs.vectors, IndexConfig.from_params(params))
    return CentroidIndex(whitening.faiss_index(inner), cs.labels, cs.sizes)


def top1_similarity(index: CentroidIndex, embeddings: np.ndarray) -> np.ndarray:
    """(N, D) embeddings -> (N,) similarity of the nearest centroid (-1 when none)."""
    if len(embeddings) == 0:
        return np.zeros(0, dtype=np.float32)
    sims, _ = index.search(embeddings, k=1)
    return np.where(np.isfinite(sims[:, 0]), sims[:, 0], -1.0).astype(np.float32)


def calibrate_index(index: CentroidIndex, negative_embeddings: np.ndarray, params: IndexParams) -> Threshold:
    """Threshold at params.target_fpr (and each of params.fprs) on (M, D) non-landmark embeddings."""
    if len(negative_embeddings) == 0:
        raise ValueError("no non-landmark calibration photos: cannot choose a threshold")
    threshold = calibrate(top1_similarity(index, negative_embeddings), params.target_fpr, params.fprs)
    log.info(
        "threshold %.4f for FPR %.4g on %d calibration photos",
        threshold.value,
        params.target_fpr,
        threshold.n_calibration,
    )
    return threshold
