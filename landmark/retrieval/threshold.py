"""The similarity threshold: chosen on non-landmark calibration photos for a target false positive rate.

A photo is recognised when the similarity of its nearest centroid is >= the threshold. On the
calibration non-landmarks, the threshold for a target FPR f is just above the (floor(f * n) + 1)-th
highest score, so at most floor(f * n) of them pass (ties at the cut are all rejected).
Confidence maps similarity monotonically into [0, 1] with the threshold at exactly 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def threshold_for_fpr(negative_scores: np.ndarray, fpr: float) -> float:
    """negative_scores: (n,) top-1 similarities of photos that must be rejected.
    Returns the lowest threshold t (among the scores' neighbours) with mean(scores >= t) <= fpr."""
    scores = np.sort(np.asarray(negative_scores, dtype=np.float64).ravel())[::-1]
    if scores.size == 0:
        raise ValueError("threshold calibration needs at least one non-landmark score")
    if not 0.0 <= fpr <= 1.0:
        raise ValueError(f"fpr must be in [0, 1], got {fpr}")
    allowed = int(math.floor(fpr * scores.size + 1e-9))
    if allowed >= scores.size:
        return float(scores[-1])
    return float(np.nextafter(scores[allowed], np.inf))


def false_positive_rate(negative_scores: np.ndarray, threshold: float) -> float:
    """Share of (n,) negative scores at or above the threshold."""
    scores = np.asarray(negative_scores, dtype=np.float64)
    return float(np.mean(scores >= threshold)) if scores.size else 0.0


@dataclass(frozen=True)
class Threshold:
    """The calibrated threshold, with the thresholds of every reported FPR."""

    value: float
    target_fpr: float
    by_fpr: dict[str, float] = field(default_factory=dict)  # "0.01" -> threshold
    n_calibration: int = 0

    def confidence(self, similarity: np.ndarray) -> np.ndarray:
        """(N,) cosine similarities -> (N,) confidence in [0, 1], monotone, 0.5 at the threshold."""
        s = np.clip(np.asarray(similarity, dtype=np.float64), -1.0, 1.0)
        s = np.where(np.isfinite(s), s, -1.0)
        t = float(np.clip(self.value, -1.0 + 1e-6, 1.0 - 1e-6))
        below = 0.5 * (s + 1.0) / (t + 1.0)
        above = 0.5 + 0.5 * (s - t) / (1.0 - t)
        return np.clip(np.where(s >= t, above, below), 0.0, 1.0)

    def to_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "target_fpr": self.target_fpr,
            "by_fpr": dict(self.by_fpr),
            "n_calibration": self.n_calibration,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> Threshold:
        return cls(
            float(raw["value"]),
            float(raw["target_fpr"]),
            {str(k): float(v) for k, v in raw.get("by_fpr", {}).items()},
            int(raw.get("n_calibration", 0)),
        )


def calibrate(negative_scores: np.ndarray, target_fpr: float, fprs: Iterable[float] = ()) -> Threshold:
    """Threshold for target_fpr on (n,) calibration non-landmark scores, plus one per reported FPR."""
    by_fpr = {f"{f:g}": threshold_for_fpr(negative_scores, f) for f in (*fprs, target_fpr)}
    return Threshold(
        threshold_for_fpr(negative_scores, target_fpr),
        float(target_fpr),
        by_fpr,
        int(np.asarray(negative_scores).size),
    )


def read_embedding_threshold(meta: dict[str, object], index_dir: Path) -> float:
    """index.json's threshold on the embedding similarity alone (`threshold` itself for an index that does
    not verify). An index saved with verification before this was recorded cannot serve embeddings."""
    if "embedding_threshold" in meta:
        return float(meta["embedding_threshold"])  # type: ignore[arg-type]  # JSON number
    if meta.get("verification") is not None:
        raise ValueError(f"{index_dir}/index.json: a verifying index without `embedding_threshold` (saved before it "
                         "was recorded); rebuild it with `dvc repro index`")
    return float(meta.get("threshold", float("inf")))  # type: ignore[arg-type]  # JSON number
