"""Building a recognizer's index from embeddings: centroids (or a baseline's vectors), faiss, threshold."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from landmark.params import IndexParams
from landmark.retrieval.centring import impostor_means
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


def per_landmark_rows(labels: np.ndarray, cap: int) -> np.ndarray:
    """Sorted row indices with at most `cap` rows of each label, evenly spaced within it."""
    _, inverse, counts = np.unique(np.asarray(labels).astype(str), return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")  # rows grouped by label, in row order within each
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    picked = [order[start + np.linspace(0, n - 1, min(n, cap)).round().astype(np.int64)]
              for start, n in zip(starts, counts, strict=True)]
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def build_index(
    embeddings: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    params: IndexParams,
    variant: str = "centroids",
) -> CentroidIndex:
    """Centroids (per `variant`) in a faiss index of type params.type. With params.whiten_dim > 0 the
    centroids are taken in a whitened space fitted on `embeddings` (at most params.whiten_per_landmark
    of each landmark when > 0), and the index whitens queries.
    The whitening keeps at most N // 4 dimensions (a covariance needs several photos per dimension)
    and is skipped, with a warning, when that leaves fewer than MIN_WHITEN_DIM. With params.dba_k > 0
    each database photo is first replaced by its DBA within its landmark (landmark.retrieval.expansion).
    The recognizer's index (variant "centroids"; the baselines stay plain) also holds each landmark's
    mean row with params.landmark_mean, and scores minus each row's impostor mean with
    params.impostor_centring (landmark.retrieval.centring; docs/real_results_centroids.md)."""
    labels = np.asarray(labels, dtype=object)
    if params.dba_k > 0:
        embeddings = database_augmentation(embeddings, params.dba_k, params.dba_alpha, labels)
    fit = (embeddings if params.whiten_per_landmark <= 0
           else embeddings[per_landmark_rows(labels, params.whiten_per_landmark)])
    dim = whiten_dims(params.whiten_dim, len(fit))
    whitening = fit_whitening(fit, dim, params.whiten_shrinkage) if dim > 0 else None
    space = whitening.apply(embeddings) if whitening is not None else np.asarray(embeddings, np.float32)
    cs = centroid_set(space, labels, params, variant)
    vectors, row_labels, sizes = cs.vectors, cs.labels, cs.sizes
    is_mean = np.zeros(len(row_labels), dtype=bool)
    recognizer = variant == "centroids"
    if recognizer and params.landmark_mean:
        means = single_centroids(space, labels)
        vectors = np.concatenate([vectors, means.vectors])
        row_labels = np.concatenate([row_labels, means.labels])
        sizes = np.concatenate([sizes, means.sizes])
        is_mean = np.concatenate([is_mean, np.ones(len(means), dtype=bool)])
    offsets = (impostor_means(vectors, row_labels, space, labels, params.impostor_top, params.impostor_sample)
               if recognizer and params.impostor_centring else None)
    inner = make_faiss_index(vectors, IndexConfig.from_params(params))
    index = whitening.faiss_index(inner) if whitening is not None else inner
    return CentroidIndex(index, row_labels, sizes, offsets, is_mean)


def top1(index: CentroidIndex, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) embeddings -> (N,) the nearest landmark (object; None when none) and (N,) float32 its
    acceptance score (-1 when none)."""
    if len(embeddings) == 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.float32)
    sims, labels = index.search(embeddings, k=1)
    return (np.asarray(labels[:, 0], dtype=object),
            np.where(np.isfinite(sims[:, 0]), sims[:, 0], -1.0).astype(np.float32))


def top1_similarity(index: CentroidIndex, embeddings: np.ndarray) -> np.ndarray:
    """(N, D) embeddings -> (N,) acceptance score of the nearest landmark (-1 when none)."""
    return top1(index, embeddings)[1]


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
