"""Measure a cleaning against known truth: inject seeded noise, score removals, a centroid baseline.

Noise of known truth on a clean labelled set: a share of photos is moved to a wrong landmark, and
photos of landmarks left out of the set are filed as landmarks (distractors). A removal is correct
when the removed photo is noise (its filed landmark is not its true one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from landmark.cleaning.difficulty import centroid_similarity


@dataclass(frozen=True)
class NoisyLabels:
    """A noisy filing of photos: rows index the original set; left-out photos not used are absent."""

    rows: np.ndarray  # (M,) int, row of each used photo in the original set
    filed: np.ndarray  # (M,) str, the landmark it is filed under
    true: np.ndarray  # (M,) str, its true landmark

    @property
    def is_noise(self) -> np.ndarray:
        """(M,) bool."""
        return self.filed != self.true


def inject_noise(
    labels: np.ndarray,
    *,
    wrong_fraction: float = 0.2,
    distractor_landmarks: int = 1,
    distractor_fraction: float = 0.05,
    seed: int = 0,
) -> NoisyLabels:
    """Seeded noise on a clean labelling (N,) of landmark names.

    The `distractor_landmarks` (chosen at random) leave the set; `distractor_fraction` * (photos of the
    kept landmarks) of their photos are filed under random kept landmarks. Then `wrong_fraction` of the
    kept landmarks' photos are moved to a different random kept landmark.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels).astype(str)
    names = np.unique(labels)
    left_out: np.ndarray | list[str] = []
    if distractor_landmarks:
        left_out = rng.choice(names, size=distractor_landmarks, replace=False)
    kept_names = np.setdiff1d(names, left_out)
    if kept_names.size < 2:
        raise ValueError("inject_noise needs at least two landmarks left after the distractors")
    inside = np.flatnonzero(np.isin(labels, kept_names))
    filed = labels[inside].copy()
    moved = rng.choice(inside.size, size=int(round(wrong_fraction * inside.size)), replace=False)
    for i in moved:
        choices = kept_names[kept_names != filed[i]]
        filed[i] = rng.choice(choices)
    outside = np.flatnonzero(~np.isin(labels, kept_names))
    n_distract = min(outside.size, int(round(distractor_fraction * inside.size)))
    distract = rng.choice(outside, size=n_distract, replace=False)
    rows = np.concatenate([inside, distract])
    filed = np.concatenate([filed, rng.choice(kept_names, size=n_distract)])
    true = labels[rows]
    return NoisyLabels(rows=rows, filed=filed, true=true)


def removal_scores(removed: np.ndarray, is_noise: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of removals (M,) bool against the noise truth (M,) bool."""
    removed = np.asarray(removed, bool)
    is_noise = np.asarray(is_noise, bool)
    hit = int((removed & is_noise).sum())
    precision = hit / max(int(removed.sum()), 1)
    recall = hit / max(int(is_noise.sum()), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "removed": int(removed.sum()),
        "noise": int(is_noise.sum()),
    }


def _mean_similarity(emb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cosine similarity of each photo to its landmark's mean embedding (all photos kept). emb (N, D)
    L2-normalised -> (N,)."""
    return centroid_similarity(emb, labels, np.ones(len(labels), dtype=bool))


def baseline_remove(emb: np.ndarray, labels: np.ndarray, n_remove: int) -> np.ndarray:
    """The baseline: remove the n_remove photos least similar to their landmark's mean. -> (N,) bool."""
    sim = _mean_similarity(emb, labels)
    removed = np.zeros(sim.size, bool)
    removed[np.argsort(sim, kind="stable")[: max(int(n_remove), 0)]] = True
    return removed


def truth_removal_scores(photo_ids: Sequence[str], kept_ids: Iterable[str], truth_csv: Path) -> dict[str, float]:
    """Removal precision / recall against a truth file of mislabelled photos (the sample world's
    noise_truth.csv: image_id, filed_landmark, true_landmark); {} when the file does not exist.

    photo_ids: the landmark photos the cleaning looked at; kept_ids: those it kept."""
    truth_csv = Path(truth_csv)
    if not truth_csv.is_file():
        return {}
    truth = pd.read_csv(truth_csv, dtype=str, keep_default_na=False)
    wrong = set(truth.loc[truth["filed_landmark"] != truth["true_landmark"], "image_id"])
    ids = np.asarray(list(photo_ids), dtype=str)
    kept = set(kept_ids)
    scores = removal_scores(np.array([i not in kept for i in ids]), np.array([i in wrong for i in ids]))
    return {f"truth_{k}": float(v) for k, v in scores.items()}
