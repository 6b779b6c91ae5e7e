"""Learned PCA-whitening of the embedding space: the one implementation, used by the cleaning graph
(params `clean.whiten_dim`) and inside the index (`index.whiten_dim`, `index.whiten_shrinkage`), as in
GeM + learned whitening (Radenović et al., TPAMI 2019).

x -> normalise((x - mean) @ P), P (D, d): the top-d eigenvectors of the photos' scatter matrix, each
scaled by (eigenvalue + shrinkage * mean of the kept eigenvalues)^-1/2 (shrinkage 0 is plain
whitening; larger values keep more of the original geometry). Frozen ImageNet features share a large
common component (every photo is "a building"), so raw cosine similarities are all high; whitening
fitted on the photos themselves (no labels) spreads them out. Whitening divides by the small
eigenvalues, which few photos estimate badly: d is at most N // samples_per_dim. One convention
everywhere: whiten_dim <= 0 means no whitening.

In the index the transform lives INSIDE the faiss index (`Whitening.faiss_index`: LinearTransform +
L2 normalisation), so whoever searches it with raw embeddings gets whitened similarities and
index.faiss holds everything.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np


@dataclass(frozen=True)
class Whitening:
    """x -> normalise((x - mean) @ projection). mean (D,) float32, projection (D, d) float32."""

    mean: np.ndarray
    projection: np.ndarray

    @property
    def dims(self) -> int:
        return int(self.projection.shape[1])

    def apply(self, emb: np.ndarray) -> np.ndarray:
        """(N, D) -> (N, d) float32, whitened and L2-normalised."""
        out = (np.asarray(emb, np.float32) - self.mean) @ self.projection
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)

    def faiss_index(self, inner: faiss.Index) -> faiss.Index:
        """A faiss index that whitens + normalises (N, D) queries, then searches `inner` (over d-dim vectors)."""
        d_in, d_out = self.projection.shape
        if inner.d != d_out:
            raise ValueError(f"inner index has dimension {inner.d}, the whitening gives {d_out}")
        linear = faiss.LinearTransform(d_in, d_out, True)
        faiss.copy_array_to_vector(np.ascontiguousarray(self.projection.T, dtype=np.float32).ravel(), linear.A)
        faiss.copy_array_to_vector((-(self.mean @ self.projection)).astype(np.float32), linear.b)
        linear.is_trained = True
        pre = faiss.IndexPreTransform(faiss.NormalizationTransform(d_out, 2.0), inner)
        pre.prepend_transform(linear)
        return faiss.deserialize_index(faiss.serialize_index(pre))  # one object owning transforms + index


def identity_whitening(dim: int) -> Whitening:
    """No whitening: apply() only L2-normalises."""
    return Whitening(np.zeros(dim, np.float32), np.eye(dim, dtype=np.float32))


def fit_whitening(emb: np.ndarray, dim: int, shrinkage: float = 0.0, samples_per_dim: int = 4,
                  max_samples: int = 20_000, seed: int = 0) -> Whitening:
    """Fit on (N, D) embeddings. dim > 0: PCA-whitening to min(dim, rank, N // samples_per_dim) dims
    (at least 1); dim <= 0: identity. At most max_samples rows (a seeded sample) are used."""
    emb = np.asarray(emb, np.float32)
    if dim <= 0:
        return identity_whitening(emb.shape[1])
    sample = emb
    if emb.shape[0] > max_samples:
        sample = emb[np.random.default_rng(seed).choice(emb.shape[0], max_samples, replace=False)]
    mean = sample.mean(axis=0)
    centred = (sample - mean).astype(np.float64)
    eigval, eigvec = np.linalg.eigh(centred.T @ centred)  # (D, D): O(N D^2), no (N, D) factor
    eigval, eigvec = np.maximum(eigval[::-1], 0.0), eigvec[:, ::-1]
    singular = np.sqrt(eigval)
    rank = int((singular > singular[0] * 1e-6).sum())
    keep = int(min(dim, rank, max(1, sample.shape[0] // samples_per_dim)))
    values = eigval[:keep]
    projection = eigvec[:, :keep] / np.sqrt(values + shrinkage * values.mean())
    return Whitening(mean.astype(np.float32), projection.astype(np.float32))
