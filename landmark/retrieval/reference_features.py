"""The reference photos of geometric verification: a few photos per landmark, their local features
computed when the index is built and stored beside it (references.npz).

Each landmark's references are the database photos whose embeddings are nearest the landmark's mean
embedding (its most typical views). The npz holds every reference's keypoints and descriptors
concatenated, with per-photo offsets and landmarks, so loading needs no pickle.
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


def choose_references(embeddings: np.ndarray, labels: Sequence[str] | np.ndarray, per_landmark: int) -> np.ndarray:
    """(N, D) L2-normalised embeddings + (N,) labels -> indices of up to `per_landmark` photos per
    landmark, those with the highest cosine to the landmark's mean embedding (ties: lower index),
    in landmark order."""
    labels = np.asarray(labels, dtype=object)
    chosen: list[int] = []
    for name in sorted(set(labels.tolist())):
        rows = np.flatnonzero(labels == name)
        mean = embeddings[rows].mean(axis=0)
        sims = embeddings[rows] @ (mean / max(float(np.linalg.norm(mean)), 1e-12))
        order = np.lexsort((rows, -sims))  # by similarity, then index
        chosen.extend(rows[order[:per_landmark]].tolist())
    return np.asarray(chosen, dtype=np.int64)


@dataclass(frozen=True)
class ReferenceFeatures:
    """by_landmark: landmark -> its reference photos' features; image_ids: the references' ids in the
    same order (for the record)."""

    by_landmark: dict[str, list[LocalFeatures]]
    image_ids: tuple[str, ...]
    features: str

    def save(self, folder: Path) -> Path:
        """Write folder/references.npz; returns its path."""
        names, items = [], []
        for name in sorted(self.by_landmark):
            for feats in self.by_landmark[name]:
                names.append(name)
                items.append(feats)
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
            keypoints, descriptors = data["keypoints"], data["descriptors"]
            by_landmark: dict[str, list[LocalFeatures]] = {}
            for name, a, b in zip(data["landmarks"].tolist(), starts, ends, strict=True):
                by_landmark.setdefault(str(name), []).append(LocalFeatures(keypoints[a:b], descriptors[a:b]))
            return cls(by_landmark, tuple(str(i) for i in data["image_ids"].tolist()), str(data["features"]))


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
    by_landmark: dict[str, list[LocalFeatures]] = {}
    for i in chosen.tolist():
        by_landmark.setdefault(str(labels[i]), []).append(extract(load(i), params))
    return ReferenceFeatures(by_landmark, tuple(str(image_ids[i]) for i in chosen.tolist()), params.features)
