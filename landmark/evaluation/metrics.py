"""Recognition metrics on an emulated user collection: GAP, sensitivity at FPR, accuracy@1, curves.

Every query has a truth (a known landmark, or None for a photo that must be rejected: a non-landmark
or a landmark the index does not know), a top-1 predicted landmark (None when there was no
candidate), the similarity of that prediction and a confidence in [0, 1].
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from landmark.retrieval.threshold import false_positive_rate, threshold_for_fpr


@dataclass(frozen=True)
class QueryResults:
    """truth, predicted: (N,) object (str or None); similarity, confidence: (N,) float."""

    truth: np.ndarray
    predicted: np.ndarray
    similarity: np.ndarray
    confidence: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.truth)
        if not (len(self.predicted) == len(self.similarity) == len(self.confidence) == n):
            raise ValueError("truth, predicted, similarity and confidence must have the same length")

    @property
    def positive(self) -> np.ndarray:
        """(N,) bool: the query shows a known landmark."""
        return np.array([t is not None for t in self.truth], dtype=bool)

    @property
    def correct(self) -> np.ndarray:
        """(N,) bool: the top-1 prediction names the true landmark."""
        return np.array(
            [t is not None and t == p for t, p in zip(self.truth, self.predicted, strict=True)], dtype=bool
        )


def gap(truth: Iterable, predicted: Iterable, confidence: Iterable) -> float:
    """Global Average Precision (REFERENCES.md): (1/M) * sum_i P(i) * rel(i) over predictions sorted by
    confidence, descending; M = number of queries with a true known landmark; a None prediction is no
    prediction. Returns 0.0 when M = 0."""
    truth = np.asarray(list(truth), dtype=object)
    predicted = np.asarray(list(predicted), dtype=object)
    confidence = np.asarray(list(confidence), dtype=np.float64)
    m = int(sum(t is not None for t in truth))
    if m == 0:
        return 0.0
    made = np.array([p is not None for p in predicted], dtype=bool)
    order = np.argsort(-confidence[made], kind="stable")
    rel = np.array(
        [t is not None and t == p for t, p in zip(truth[made], predicted[made], strict=True)],
        dtype=np.float64,
    )[order]
    precision = np.cumsum(rel) / np.arange(1, len(rel) + 1)
    return float(np.sum(precision * rel) / m)


def sensitivity_fpr_curve(results: QueryResults) -> pd.DataFrame:
    """For every threshold that changes the outcome: threshold, fpr (on must-reject queries) and
    sensitivity (share of known-landmark queries recognised correctly at or above it)."""
    pos, correct = results.positive, results.correct
    sims = np.where(np.isfinite(results.similarity), results.similarity, -np.inf)
    thresholds = np.unique(np.concatenate([sims[np.isfinite(sims)], [np.inf]]))[::-1]
    neg_s, hit_s = np.sort(sims[~pos]), np.sort(sims[pos & correct])
    n_neg, n_pos = max(1, int((~pos).sum())), max(1, int(pos.sum()))
    fpr = (len(neg_s) - np.searchsorted(neg_s, thresholds, side="left")) / n_neg
    sens = (len(hit_s) - np.searchsorted(hit_s, thresholds, side="left")) / n_pos
    return pd.DataFrame({"threshold": thresholds, "fpr": fpr, "sensitivity": sens})


def sensitivity_at_fpr(results: QueryResults, fpr: float) -> tuple[float, float]:
    """(sensitivity, threshold) with the threshold chosen on the collection's own must-reject queries."""
    pos = results.positive
    if pos.all():
        return float(np.mean(results.correct)), float("-inf")
    t = threshold_for_fpr(np.where(np.isfinite(results.similarity), results.similarity, -1.0)[~pos], fpr)
    hit = results.correct & (results.similarity >= t)
    return float(hit[pos].mean()) if pos.any() else 0.0, t


def precision_recall_curve(results: QueryResults) -> pd.DataFrame:
    """Predictions ranked by confidence: confidence, precision and recall (over known-landmark queries)."""
    made = np.array([p is not None for p in results.predicted], dtype=bool)
    order = np.argsort(-results.confidence[made], kind="stable")
    rel = results.correct[made][order].astype(np.float64)
    ranks = np.arange(1, len(rel) + 1)
    return pd.DataFrame(
        {
            "confidence": results.confidence[made][order],
            "precision": np.cumsum(rel) / ranks,
            "recall": np.cumsum(rel) / max(1, int(results.positive.sum())),
        }
    )


def per_landmark(results: QueryResults, threshold: float) -> pd.DataFrame:
    """One row per true known landmark: n_queries, accuracy_at_1, sensitivity_at_threshold,
    mean_similarity, and false_positives (must-reject photos accepted as that landmark)."""
    pos = results.positive
    accepted = results.similarity >= threshold
    rows = []
    for landmark in sorted({t for t in results.truth if t is not None}):
        mine = np.array([t == landmark for t in results.truth], dtype=bool)
        fp = (~pos) & accepted & np.array([p == landmark for p in results.predicted], dtype=bool)
        rows.append(
            {
                "landmark": landmark,
                "n_queries": int(mine.sum()),
                "accuracy_at_1": float(results.correct[mine].mean()),
                "sensitivity_at_threshold": float((results.correct & accepted)[mine].mean()),
                "mean_similarity": float(np.mean(results.similarity[mine])),
                "false_positives": int(fp.sum()),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "landmark",
            "n_queries",
            "accuracy_at_1",
            "sensitivity_at_threshold",
            "mean_similarity",
            "false_positives",
        ],
    )


def _pct(fpr: float) -> str:
    return f"{fpr * 100:g}".replace(".", "_") + "pct"


def passed_by_role(results: QueryResults, roles: np.ndarray, threshold: float) -> dict[str, float]:
    """<role>_passed_at_threshold: the share of each must-reject role's queries (e.g. `unknown`,
    `non_landmark`; the collection's `role` column, (N,)) accepted at the threshold. fpr_at_threshold
    pools them, so a must-reject kind that passes often but is rare in the collection hides in it."""
    roles = np.asarray(roles).astype(str)
    if roles.shape != results.truth.shape:
        raise ValueError(f"{roles.shape[0]} roles for {len(results.truth)} queries")
    accepted = np.where(np.isfinite(results.similarity), results.similarity, -np.inf) >= threshold
    must_reject = ~results.positive
    return {f"{role}_passed_at_threshold": float(accepted[must_reject & (roles == role)].mean())
            for role in sorted(set(roles[must_reject].tolist()))}


def summarize(
    results: QueryResults, threshold: float, fprs: Iterable[float] = (0.01, 0.001)
) -> dict[str, float]:
    """Flat metrics: gap (all top-1 predictions ranked by confidence), gap_at_threshold (only accepted
    ones), sensitivity_at_fpr_<x>pct, accuracy_at_1 (closed set), fpr_at_threshold,
    sensitivity_at_threshold, unknown-landmark and query counts."""
    pos, correct = results.positive, results.correct
    accepted = results.similarity >= threshold
    neg_scores = np.where(np.isfinite(results.similarity), results.similarity, -1.0)[~pos]
    kept = np.where(accepted, results.predicted, np.full(accepted.shape, None, dtype=object))
    out: dict[str, float] = {
        "gap": gap(results.truth, results.predicted, results.confidence),
        "gap_at_threshold": gap(results.truth, kept, results.confidence),
        "accuracy_at_1": float(correct[pos].mean()) if pos.any() else 0.0,
        "fpr_at_threshold": false_positive_rate(neg_scores, threshold),
        "sensitivity_at_threshold": float((correct & accepted)[pos].mean()) if pos.any() else 0.0,
        "threshold": float(threshold),
        "n_queries": float(len(results.truth)),
        "n_landmark_queries": float(pos.sum()),
        "n_reject_queries": float((~pos).sum()),
    }
    for fpr in fprs:
        out[f"sensitivity_at_fpr_{_pct(fpr)}"] = sensitivity_at_fpr(results, fpr)[0]
    return out
