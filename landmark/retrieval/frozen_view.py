"""A second opinion on the recognizer's answer from the frozen ImageNet backbone.

The trained network is taught to pull each known landmark's photos together, so a photo of a building
it never saw lands near the known landmark it looks most like (docs/real_results_hardest.md). The
frozen backbone was taught no landmark, so it has no reason to pull that photo towards one. Its view
of how close a query is to the photos of the landmark the trained index answered (the mean cosine of
the k most similar, plain GeM features, no whitening) added to the acceptance score separates known
landmarks from unseen ones better than the trained score alone (docs/real_results_frozen_fusion.md).

Each landmark's database photos are kept as contiguous rows, so scoring a query reads only the photos
of its answered landmark: O(photos of that landmark x C) per query, whatever the database size.
Read-only after construction: safe to share between threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "frozen_view.npz"


@dataclass(frozen=True)
class FrozenView:
    """landmarks (L,) str sorted; starts (L + 1,) int64: landmark i's rows are starts[i]:starts[i + 1];
    features (N, C) float32, L2-normalised, grouped by landmark."""

    landmarks: np.ndarray
    starts: np.ndarray
    features: np.ndarray

    @classmethod
    def build(cls, features: np.ndarray, labels: np.ndarray) -> FrozenView:
        """From (N, C) frozen features (L2-normalised here) and the (N,) landmark of each row."""
        features = np.asarray(features, dtype=np.float32)
        labels = np.asarray(labels).astype(str)
        if features.ndim != 2 or len(features) != len(labels):
            raise ValueError(f"frozen view: {features.shape} features for {len(labels)} labels")
        if len(labels) == 0:
            raise ValueError("frozen view: no database photos")
        names, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        order = np.argsort(inverse, kind="stable")
        norms = np.linalg.norm(features[order], axis=1, keepdims=True)
        rows = features[order] / np.maximum(norms, 1e-12)
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(names, starts, rows.astype(np.float32))

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    def score(self, queries: np.ndarray, landmarks: np.ndarray | list[str | None], k: int = 3) -> np.ndarray:
        """(N,) float64: for each (N, C) query feature, the mean cosine to the k most similar database
        photos of its landmark (all of them when it has fewer); -1 where the landmark is None or not in
        the view."""
        if k < 1:
            raise ValueError(f"frozen view: k must be >= 1, got {k}")
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"frozen view holds {self.dim}-d features, the queries are {queries.shape}")
        if len(landmarks) != len(queries):
            raise ValueError(f"{len(queries)} queries but {len(landmarks)} landmarks")
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        names = np.array(["" if n is None else str(n) for n in landmarks], dtype=object)
        out = np.full(len(queries), -1.0)
        for name in np.unique(names[names != ""]):
            i = int(np.searchsorted(self.landmarks, name))
            if i >= len(self.landmarks) or self.landmarks[i] != name:
                continue
            rows = np.flatnonzero(names == name)
            sims = queries[rows] @ self.features[self.starts[i]:self.starts[i + 1]].T
            top = -np.partition(-sims, min(k, sims.shape[1]) - 1, axis=1)[:, :k]
            out[rows] = top.mean(axis=1)
        return out

    def save(self, folder: Path) -> None:
        """folder / FILE (features as float16: cosines change by < 1e-3)."""
        np.savez(Path(folder) / FILE, landmarks=self.landmarks, starts=self.starts,
                 features=self.features.astype(np.float16))

    @classmethod
    def load(cls, folder: Path) -> FrozenView | None:
        """The view saved in `folder`, or None when it has none."""
        path = Path(folder) / FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as z:
            return cls(z["landmarks"].astype(str), z["starts"].astype(np.int64), z["features"].astype(np.float32))


def split_rows(rows: np.ndarray, view_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, D + view_dim) [embedding | frozen view] rows (an embedder's one pass) -> ((N, D), (N, view_dim))."""
    rows = np.asarray(rows, dtype=np.float32)
    d = rows.shape[1] - view_dim if rows.ndim == 2 else -1
    if d <= 0:
        raise ValueError(f"this index carries a {view_dim}-d frozen view: each row must be the embedding "
                         f"followed by the frozen features (the embedder's one pass), got {rows.shape}")
    return rows[:, :d], rows[:, d:]


@dataclass(frozen=True)
class ViewScore:
    """The frozen view as the recognizer uses it: (acceptance score + `weight` x the mean cosine of the
    `knn` nearest database photos of the answered landmark) / (1 + weight), which keeps the score in
    [-1, 1] (the confidence and the threshold expect a cosine's range, as the verified score does).
    `trainable_blocks`: how the network shares its layers with the frozen backbone
    (landmark.models.frozen_tail.with_frozen_view)."""

    view: FrozenView
    weight: float
    knn: int
    trainable_blocks: int

    def split(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, D + C) [embedding | frozen view] rows -> ((N, D), (N, C))."""
        return split_rows(rows, self.view.dim)

    def fused(self, scores: np.ndarray, view_features: np.ndarray, answers: np.ndarray | list[str | None]
              ) -> np.ndarray:
        """(N,) (scores + weight x the view's score for each answer (-1 where there is none)) / (1 + weight)."""
        view = self.view.score(view_features, answers, self.knn)
        return (np.asarray(scores, dtype=np.float64) + self.weight * view) / (1.0 + self.weight)

    def describe(self) -> dict[str, float | int]:
        """What index.json records (Recognizer.load rebuilds the score from it and frozen_view.npz)."""
        return {"weight": self.weight, "knn": self.knn, "trainable_blocks": self.trainable_blocks,
                "dim": self.view.dim, "photos": int(len(self.view.features))}
