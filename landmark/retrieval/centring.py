"""Per-centroid impostor centring: each centroid's score is its cosine similarity minus its mean
similarity to its nearest database photos of OTHER landmarks (its impostor cohort).

Why (docs/real_results_centroids.md): centroids differ in how close they sit to everything else. A
centroid of a generic view (sky over a bridge, a street, a facade like many others) is close to many
photos that are not its landmark, so one global threshold lets it accept unknown landmarks and
non-landmarks, while a distinctive centroid's true matches fall under the same threshold. Subtracting
each centroid's impostor mean puts every centroid on the same footing (cohort score normalisation, as
in speaker and face verification); the threshold is calibrated on the centred score. The cohort is a
centroid's `top` nearest impostor photos (adaptive cohort: the look-alikes are what a threshold has
to beat, not the average photo), or all of them with top = 0. Only the mean is subtracted, not divided
by the cohort's spread: a tight cohort (a landmark unlike every other known one) would otherwise blow
up the score of an unknown look-alike.
"""

from __future__ import annotations

import numpy as np

CHUNK = 1024  # centroids per matrix product: bounds memory at CHUNK x cohort floats


def impostor_means(
    vectors: np.ndarray,
    labels: np.ndarray,
    photos: np.ndarray,
    photo_labels: np.ndarray,
    top: int,
    sample: int,
) -> np.ndarray:
    """(C,) float32: each centroid's mean cosine similarity to its `top` most similar photos of other
    landmarks (top = 0: to all of them).

    vectors: (C, D) L2-normalised centroids with labels (C,); photos: (N, D) L2-normalised database
    photos with photo_labels (N,). At most `sample` photos (evenly spaced rows; 0 = all) form the
    cohort, so the cost stays C x sample at any database size. A centroid whose landmark holds every cohort photo
    gets 0."""
    vectors = np.asarray(vectors, dtype=np.float32)
    photos = np.asarray(photos, dtype=np.float32)
    labels, photo_labels = np.asarray(labels, dtype=object), np.asarray(photo_labels, dtype=object)
    if len(photos) > sample > 0:
        pick = np.linspace(0, len(photos) - 1, sample).round().astype(np.int64)
        photos, photo_labels = photos[pick], photo_labels[pick]
    code_of = {n: i for i, n in enumerate(sorted(set(photo_labels.tolist())))}
    photo_code = np.array([code_of[n] for n in photo_labels], dtype=np.int64)
    centroid_code = np.array([code_of.get(n, -1) for n in labels], dtype=np.int64)
    out = np.zeros(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), CHUNK):
        sims = vectors[start:start + CHUNK] @ photos.T  # (c, N)
        impostor = photo_code[None, :] != centroid_code[start:start + CHUNK, None]  # (c, N)
        n = impostor.sum(axis=1)
        if top > 0 and top < photos.shape[0]:
            ranked = -np.partition(-np.where(impostor, sims, -np.inf), top - 1, axis=1)[:, :top]
            n = np.minimum(n, top)
            total = np.where(np.isfinite(ranked), ranked, 0.0).sum(axis=1, dtype=np.float64)
        else:
            total = np.where(impostor, sims, 0.0).sum(axis=1, dtype=np.float64)
        out[start:start + CHUNK] = np.where(n > 0, total / np.maximum(n, 1), 0.0)
    return out
