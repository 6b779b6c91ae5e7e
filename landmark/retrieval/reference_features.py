"""The reference photos of geometric verification: up to params photos_per_landmark database photos
per landmark, their local features and embeddings computed when the index is built and stored beside
it (references.npz).

A landmark's references spread over its views: the photo nearest the landmark's mean embedding
first, then repeatedly the photo least similar to those already chosen (farthest-point order). At
query time the references nearest the query's embedding are verified (the retrieval literature's
re-ranking of the nearest database photos: a query shares geometry with photos of its own view, not
with the landmark's typical one). The npz holds every reference's keypoints and descriptors
concatenated, with per-photo counts, landmarks and embeddings, so loading needs no pickle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from landmark.params import VerificationParams
from landmark.retrieval.verification import LocalFeatures, extract

FILE = "references.npz"


def spread_order(embeddings: np.ndarray, count: int) -> list[int]:
    """(n, D) L2-normalised embeddings of one landmark -> `count` row indices (all when count <= 0
    or >= n): the row nearest the mean first, then each time the row whose highest cosine to the
    rows already chosen is lowest (ties: lower index)."""
    n = len(embeddings)
    count = n if count <= 0 else min(count, n)
    mean = embeddings.mean(axis=0)
    first = int(np.argmax(embeddings @ (mean / max(float(np.linalg.norm(mean)), 1e-12))))
    chosen = [first]
    nearest = embeddings @ embeddings[first]  # each row's highest cosine to the chosen rows
    while len(chosen) < count:
        nearest[chosen] = np.inf
        pick = int(np.argmin(nearest))
        chosen.append(pick)
        nearest = np.maximum(nearest, embeddings @ embeddings[pick])
    return chosen


def choose_references(embeddings: np.ndarray, labels: Sequence[str] | np.ndarray, per_landmark: int) -> np.ndarray:
    """(N, D) L2-normalised embeddings + (N,) labels -> indices of up to `per_landmark` photos per
    landmark (0: all) in spread_order, landmarks in sorted order."""
    labels = np.asarray(labels, dtype=object)
    chosen: list[int] = []
    for name in sorted(set(labels.tolist())):
        rows = np.flatnonzero(labels == name)
        chosen.extend(rows[spread_order(np.asarray(embeddings[rows], dtype=np.float32), per_landmark)].tolist())
    return np.asarray(chosen, dtype=np.int64)


@dataclass(frozen=True)
class ReferenceFeatures:
    """by_landmark: landmark -> its reference photos' features; embeddings: landmark -> their (n, D)
    float32 L2-normalised embeddings, same order; image_ids: the references' ids in the saved order
    (landmarks sorted; for the record)."""

    by_landmark: dict[str, list[LocalFeatures]]
    embeddings: dict[str, np.ndarray]
    image_ids: tuple[str, ...]
    features: str

    def nearest(self, landmark: str, query: np.ndarray, count: int) -> list[LocalFeatures]:
        """The features of `landmark`'s `count` references nearest the (D,) query embedding (ties:
        earlier reference); none for a landmark without references."""
        refs = self.by_landmark.get(landmark, [])
        if not refs:
            return []
        sims = self.embeddings[landmark] @ np.asarray(query, dtype=np.float32)
        return [refs[i] for i in np.argsort(-sims, kind="stable")[:count].tolist()]

    def save(self, folder: Path) -> Path:
        """Write folder/references.npz; returns its path."""
        names, items, vectors = [], [], []
        for name in sorted(self.by_landmark):
            for feats, vector in zip(self.by_landmark[name], self.embeddings[name], strict=True):
                names.append(name)
                items.append(feats)
                vectors.append(vector)
        counts = np.array([len(f) for f in items], dtype=np.int64)
        width = items[0].descriptors.shape[1] if items else 128
        path = Path(folder) / FILE
        np.savez_compressed(
            path,
            landmarks=np.array(names, dtype=str),
            image_ids=np.array(self.image_ids, dtype=str),
            counts=counts,
            keypoints=np.concatenate([f.keypoints for f in items]) if items else np.zeros((0, 2), np.float32),
            descriptors=np.concatenate([f.descriptors for f in items]) if items else np.zeros((0, width), np.uint8),
            features=np.array(self.features),
            embeddings=np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, 1), np.float32),
        )
        return path

    @classmethod
    def load(cls, folder: Path) -> ReferenceFeatures | None:
        """folder/references.npz, or None when the index was built without verification."""
        path = Path(folder) / FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            ends = np.cumsum(data["counts"])
            starts = ends - data["counts"]
            keypoints, descriptors, vectors = data["keypoints"], data["descriptors"], data["embeddings"]
            by_landmark: dict[str, list[LocalFeatures]] = {}
            rows: dict[str, list[int]] = {}
            for i, (name, a, b) in enumerate(zip(data["landmarks"].tolist(), starts, ends, strict=True)):
                by_landmark.setdefault(str(name), []).append(LocalFeatures(keypoints[a:b], descriptors[a:b]))
                rows.setdefault(str(name), []).append(i)
            embeddings = {name: vectors[idx] for name, idx in rows.items()}
            return cls(by_landmark, embeddings, tuple(str(i) for i in data["image_ids"].tolist()),
                       str(data["features"]))


def build_references(
    load: Callable[[int], Image.Image],
    embeddings: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    image_ids: Sequence[str],
    params: VerificationParams,
) -> ReferenceFeatures:
    """The reference features of a database: load(i) decodes database photo i; (N, D) embeddings and
    (N,) labels choose params.photos_per_landmark references per landmark."""
    labels = np.asarray(labels, dtype=object)
    chosen = choose_references(embeddings, labels, params.photos_per_landmark)
    return assemble(chosen, [extract(load(i), params) for i in chosen.tolist()], embeddings, labels, image_ids,
                    params.features)


def assemble(chosen: np.ndarray, features: list[LocalFeatures], embeddings: np.ndarray,
             labels: np.ndarray, image_ids: Sequence[str], kind: str) -> ReferenceFeatures:
    """ReferenceFeatures of the chosen database rows, given their features in the same order."""
    by_landmark: dict[str, list[LocalFeatures]] = {}
    rows: dict[str, list[int]] = {}
    for i, feats in zip(chosen.tolist(), features, strict=True):
        by_landmark.setdefault(str(labels[i]), []).append(feats)
        rows.setdefault(str(labels[i]), []).append(i)
    vectors = {name: np.asarray(embeddings[idx], dtype=np.float32) for name, idx in rows.items()}
    return ReferenceFeatures(by_landmark, vectors, tuple(str(image_ids[i]) for i in chosen.tolist()), kind)
