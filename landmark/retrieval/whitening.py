"""Learned PCA-whitening of the embedding space for the index (params `index.whiten_dim`,
`index.whiten_shrinkage`), as in GeM + learned whitening (Radenović et al., TPAMI 2019).

Fitted on the database embeddings at index build: x -> normalise((x - mean) @ P), P (D, d) the top-d
eigenvectors of the covariance scaled by (eigenvalue + shrinkage * mean eigenvalue)^-1/2 (shrinkage 0
is plain whitening; larger values keep more of the original geometry). The transform lives INSIDE the
faiss index (IndexPreTransform: LinearTransform + L2 normalisation), so whoever searches the index
with raw embeddings (the recognizer, the threshold calibration) gets whitened similarities, and
index.faiss holds everything. Measured in docs/real_results.md.
"""

from __future__ import annotations

import faiss
import numpy as np


def fit_whitening(x: np.ndarray, dim: int, shrinkage: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) embeddings -> mean (D,) float32 and projection P (D, d) float32, d = min(dim, D, N - 1)."""
    x = np.asarray(x, dtype=np.float64)
    n, d_in = x.shape
    d = int(min(dim, d_in, max(1, n - 1)))
    mean = x.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov((x - mean).T))
    order = np.argsort(-values)[:d]
    values = np.clip(values[order], 0.0, None)
    scale = 1.0 / np.sqrt(values + shrinkage * values.mean() + 1e-12)
    return mean.astype(np.float32), (vectors[:, order] * scale).astype(np.float32)


def apply_whitening(x: np.ndarray, mean: np.ndarray, proj: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, d) float32, whitened and L2-normalised."""
    y = (np.asarray(x, dtype=np.float32) - mean) @ proj
    return (y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def whitened_index(inner: faiss.Index, mean: np.ndarray, proj: np.ndarray) -> faiss.Index:
    """A faiss index that whitens + normalises (N, D) queries, then searches `inner` (over d-dim vectors)."""
    d_in, d_out = proj.shape
    if inner.d != d_out:
        raise ValueError(f"inner index has dimension {inner.d}, the whitening gives {d_out}")
    linear = faiss.LinearTransform(d_in, d_out, True)
    faiss.copy_array_to_vector(np.ascontiguousarray(proj.T, dtype=np.float32).ravel(), linear.A)
    faiss.copy_array_to_vector((-(mean @ proj)).astype(np.float32), linear.b)
    linear.is_trained = True
    pre = faiss.IndexPreTransform(faiss.NormalizationTransform(d_out, 2.0), inner)
    pre.prepend_transform(linear)
    return faiss.deserialize_index(faiss.serialize_index(pre))  # one object owning transforms + index
