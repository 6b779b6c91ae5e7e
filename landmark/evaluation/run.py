"""One evaluation of a recognizer (and its baselines) on embedded collection photos.

Pure functions over embeddings: the stage, the ad hoc command and the real-data test embed the photos
once per network and call these.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from landmark.evaluation.metrics import (
    QueryResults,
    per_landmark,
    precision_recall_curve,
    sensitivity_fpr_curve,
    summarize,
)
from landmark.params import IndexParams
from landmark.retrieval.build import build_index, calibrate_index
from landmark.retrieval.recognizer import Location, Recognizer
from landmark.retrieval.threshold import Threshold

if TYPE_CHECKING:
    from landmark.retrieval.verification import LocalFeatures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    """Metrics (flat dict), the per-query results, the per-landmark table and both curves."""

    metrics: dict[str, float]
    results: QueryResults
    per_landmark: pd.DataFrame
    sensitivity_fpr: pd.DataFrame
    precision_recall: pd.DataFrame


def evaluate_recognizer(
    recognizer: Recognizer,
    query_embeddings: np.ndarray,
    truth: np.ndarray,
    fprs: Sequence[float],
    locations: Sequence[Location] | None = None,
    features: Sequence[LocalFeatures | None] | None = None,
) -> Evaluation:
    """(Q, D) collection embeddings + (Q,) truth (landmark or None) -> Evaluation at the stored threshold.
    features: the photos' local features, needed when the recognizer verifies; results are then
    ranked by the verified score the threshold applies to."""
    preds = recognizer.predict_embeddings(query_embeddings, locations, features)
    results = QueryResults(
        np.asarray(truth, dtype=object),
        np.array([p.candidate for p in preds], dtype=object),
        np.array([p.similarity if p.score is None else p.score for p in preds], dtype=np.float64),
        np.array([p.confidence for p in preds], dtype=np.float64),
    )
    threshold = recognizer.threshold.value
    metrics = summarize(results, threshold, fprs)
    metrics["n_centroids"] = float(recognizer.index.index.ntotal)
    return Evaluation(
        metrics,
        results,
        per_landmark(results, threshold),
        sensitivity_fpr_curve(results),
        precision_recall_curve(results),
    )


def evaluate_embeddings(
    db_embeddings: np.ndarray,
    db_labels: Sequence[str] | np.ndarray,
    calibration_embeddings: np.ndarray,
    query_embeddings: np.ndarray,
    truth: np.ndarray,
    params: IndexParams,
    variant: str = "centroids",
) -> tuple[Evaluation, Recognizer]:
    """Build the index (`variant`: centroids | single | photos), calibrate, evaluate. Embeddings (N, D)."""
    index = build_index(db_embeddings, db_labels, params, variant)
    threshold: Threshold = calibrate_index(index, calibration_embeddings, params)
    recognizer = Recognizer(None, index, threshold, geo_radius_km=params.geo_radius_km)
    return evaluate_recognizer(recognizer, query_embeddings, truth, params.fprs), recognizer


def flat_metrics(evaluations: dict[str, Evaluation], main: str = "recognizer") -> dict[str, float]:
    """{'gap': ..., 'baseline_frozen.gap': ...}: the main system's keys bare, the others prefixed."""
    out: dict[str, float] = {}
    for name, ev in evaluations.items():
        prefix = "" if name == main else f"{name}."
        out.update({f"{prefix}{k}": float(v) for k, v in ev.metrics.items()})
    return out


def metrics_table(
    evaluations: dict[str, Evaluation],
    keys: Sequence[str] = (
        "gap",
        "sensitivity_at_fpr_1pct",
        "sensitivity_at_fpr_0_1pct",
        "accuracy_at_1",
        "fpr_at_threshold",
        "n_centroids",
    ),
) -> str:
    """A markdown table, one row per system."""
    lines = ["| system | " + " | ".join(keys) + " |", "| --- |" + " --- |" * len(keys)]
    for name, ev in evaluations.items():
        lines.append(
            f"| {name} | " + " | ".join(f"{ev.metrics.get(k, float('nan')):.4g}" for k in keys) + " |"
        )
    return "\n".join(lines)
