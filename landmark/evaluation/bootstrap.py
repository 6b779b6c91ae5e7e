"""Paired bootstrap of the GAP difference between two recognizers on the same queries.

The gate must not promote a model that won a seed lottery: on the sample world GAP moves by about
0.06 between training seeds. Both models answered the same collection, so the queries are resampled
with replacement (the same resample for both) and the GAP difference is recomputed each time; the
percentile interval of those differences says how sure the difference is (Efron & Tibshirani 1993,
the paired design of Koehn 2004 for MT metrics).

GAP here is `landmark.evaluation.metrics.gap` over every query with its nearest candidate as the
prediction, ranked by similarity (confidence is a monotone function of similarity, so the ranking,
and GAP, are the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from landmark.evaluation.metrics import gap


@dataclass(frozen=True)
class PairedGap:
    """delta = GAP(challenger) - GAP(champion) on the collection; [low, high] its `level` percentile
    interval over `samples` paired resamples of the `queries` queries."""

    challenger_gap: float
    champion_gap: float
    delta: float
    low: float
    high: float
    level: float
    samples: int
    queries: int

    def describe(self) -> str:
        return (f"GAP {self.challenger_gap:.4f} vs champion {self.champion_gap:.4f}: difference {self.delta:+.4f}, "
                f"{self.level:.0%} interval [{self.low:+.4f}, {self.high:+.4f}] ({self.samples} paired resamples "
                f"of {self.queries} queries)")


def _gap_rows(truth: np.ndarray, predicted: np.ndarray, score: np.ndarray, rows: np.ndarray) -> float:
    return gap(truth[rows], predicted[rows], score[rows])


def paired_gap(truth: np.ndarray, challenger: tuple[np.ndarray, np.ndarray], champion: tuple[np.ndarray, np.ndarray],
               samples: int = 1000, level: float = 0.95, seed: int = 0) -> PairedGap:
    """truth (N,) object (None: no known landmark); challenger, champion: (predicted (N,) object,
    score (N,) float) on the same N queries, in the same order."""
    truth = np.asarray(truth, dtype=object)
    (pred_a, score_a), (pred_b, score_b) = challenger, champion
    pred_a, pred_b = np.asarray(pred_a, dtype=object), np.asarray(pred_b, dtype=object)
    score_a, score_b = np.asarray(score_a, dtype=np.float64), np.asarray(score_b, dtype=np.float64)
    n = len(truth)
    if not (len(pred_a) == len(score_a) == len(pred_b) == len(score_b) == n):
        raise ValueError("challenger, champion and truth must cover the same queries")
    if not 0.0 < level < 1.0 or samples < 1:
        raise ValueError(f"level must be in (0, 1) and samples >= 1, got {level}, {samples}")
    everything = np.arange(n)
    gap_a, gap_b = _gap_rows(truth, pred_a, score_a, everything), _gap_rows(truth, pred_b, score_b, everything)
    rng = np.random.default_rng(seed)
    deltas = np.empty(samples)
    for k in range(samples):
        rows = rng.integers(0, n, n)
        deltas[k] = _gap_rows(truth, pred_a, score_a, rows) - _gap_rows(truth, pred_b, score_b, rows)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(deltas, [tail, 100.0 - tail])
    return PairedGap(gap_a, gap_b, gap_a - gap_b, float(low), float(high), level, samples, n)


def read_predictions(path: Path) -> pd.DataFrame:
    """The evaluate stage's predictions.csv: image_id, truth ("" = none), predicted, similarity per query."""
    frame = pd.read_csv(path, dtype={"image_id": str, "truth": str, "predicted": str}, keep_default_na=False)
    missing = {"image_id", "truth", "predicted", "similarity"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: predictions lack column(s) {sorted(missing)}")
    return frame


def paired_gap_from_files(challenger_csv: Path, champion_csv: Path, samples: int, level: float,
                          seed: int) -> PairedGap:
    """paired_gap over two predictions.csv files of the same collection (matched by image_id)."""
    a, b = read_predictions(challenger_csv), read_predictions(champion_csv)
    if sorted(a["image_id"]) != sorted(b["image_id"]):
        raise ValueError(f"{challenger_csv} and {champion_csv} answer different collections")
    b = b.set_index("image_id").loc[a["image_id"]].reset_index()
    if not (a["truth"].to_numpy() == b["truth"].to_numpy()).all():
        raise ValueError(f"{challenger_csv} and {champion_csv} disagree on the truth of some queries")

    def col(frame: pd.DataFrame, name: str) -> np.ndarray:
        return np.array([v if v else None for v in frame[name]], dtype=object)

    return paired_gap(col(a, "truth"), (col(a, "predicted"), a["similarity"].to_numpy(float)),
                      (col(b, "predicted"), b["similarity"].to_numpy(float)), samples, level, seed)
