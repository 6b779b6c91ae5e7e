"""Evaluating embedders on the real-photo world: the full recognizer (centroids, faiss, threshold at
params.index.target_fpr on the calibration non-landmarks) and the baselines on the emulated collection,
plus the alternative acceptance scores of research.rejection."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from landmark.data.manifest import NON_LANDMARK, SPLIT_CALIBRATION, SPLIT_TRAIN
from landmark.evaluation.collection import emulated_collection, truth_array
from landmark.evaluation.metrics import QueryResults, summarize
from landmark.evaluation.run import Evaluation
from landmark.evaluation.systems import embed_sets, evaluate_systems
from landmark.models.embedder import Embedder
from landmark.params import Params
from landmark.retrieval.build import build_index
from landmark.retrieval.threshold import calibrate
from research.rejection import acceptance_scores

log = logging.getLogger(__name__)
KEYS = (
    "gap",
    "sensitivity_at_fpr_1pct",
    "sensitivity_at_fpr_0_1pct",
    "accuracy_at_1",
    "fpr_non_landmark",
    "fpr_unknown",
)


def world_sets(world: pd.DataFrame, params: Params) -> dict[str, pd.DataFrame]:
    """database (landmark train photos), calibration, collection, negatives (non-landmark train photos)."""
    train = world["split"] == SPLIT_TRAIN
    non = world["landmark"] == NON_LANDMARK
    e = params.evaluate
    database = world[train & ~non].reset_index(drop=True)
    collection = emulated_collection(world, set(database["landmark"]), e.landmark_share, e.min_landmark_queries, e.seed)
    return {
        "database": database,
        "calibration": world[world["split"] == SPLIT_CALIBRATION].reset_index(drop=True),
        "collection": collection,
        "negatives": world[train & non].reset_index(drop=True),
    }


def embed_world(model: Embedder, sets: dict[str, pd.DataFrame], params: Params) -> dict[str, np.ndarray]:
    """Each set's photos (absolute paths) -> (N, D) float32 L2-normalised embeddings."""
    return embed_sets(model, sets, Path("/"), params, use_cache=False)


def add_role_fprs(evaluation: Evaluation, roles: np.ndarray) -> None:
    """fpr_non_landmark / fpr_unknown: share of each kind of must-reject photo accepted at the threshold."""
    accepted = evaluation.results.similarity >= evaluation.metrics["threshold"]
    for role in ("non_landmark", "unknown"):
        evaluation.metrics[f"fpr_{role}"] = float(accepted[roles == role].mean())


def evaluate_model(
    emb: dict[str, np.ndarray],
    sets: dict[str, pd.DataFrame],
    params: Params,
    frozen: dict[str, np.ndarray] | None = None,
    main: str = "recognizer",
) -> dict[str, Evaluation]:
    """The recognizer (`main`) and baselines (single centroid, nearest photo, frozen when given)."""
    labels = sets["database"]["landmark"].to_numpy(dtype=object)
    truth = truth_array(sets["collection"])
    evaluations = evaluate_systems(emb, labels, truth, params, frozen=frozen, main=main)
    roles = sets["collection"]["role"].to_numpy()
    for ev in evaluations.values():
        add_role_fprs(ev, roles)
    return evaluations


def evaluate_score(
    emb: dict[str, np.ndarray], sets: dict[str, pd.DataFrame], params: Params, kind: str, **options: float
) -> dict[str, float]:
    """Metrics of the centroid recognizer when it accepts by score `kind` (rejection.SCORES) instead of
    the plain similarity; the threshold is calibrated on the calibration photos with the same score."""
    labels = sets["database"]["landmark"].to_numpy(dtype=object)
    index = build_index(emb["database"], labels, params.index, "centroids")
    kw = dict(options)
    if kind == "negative_penalty":
        kw["negatives"] = emb["negatives"]  # type: ignore[assignment]
    _, cal = acceptance_scores(index, emb["calibration"], kind, **kw)  # type: ignore[arg-type]
    threshold = calibrate(cal, params.index.target_fpr, params.index.fprs).value
    predicted, score = acceptance_scores(index, emb["collection"], kind, **kw)  # type: ignore[arg-type]
    truth = truth_array(sets["collection"])
    results = QueryResults(truth, predicted, score, score)
    metrics = summarize(results, threshold, params.index.fprs)
    roles = sets["collection"]["role"].to_numpy()
    for role in ("non_landmark", "unknown"):
        metrics[f"fpr_{role}"] = float((score >= threshold)[roles == role].mean())
    return metrics


def table(rows: list[dict[str, object]], keys: tuple[str, ...] = KEYS) -> str:
    """Markdown table: one row per dict (keys `model`, `system`, then `keys`)."""
    head = "| model | system | " + " | ".join(keys) + " |"
    lines = [head, "| --- | --- |" + " --- |" * len(keys)]
    for r in rows:
        vals = " | ".join(f"{float(r[k]):.3f}" if k in r else "" for k in keys)  # type: ignore[arg-type]
        lines.append(f"| {r['model']} | {r['system']} | {vals} |")
    return "\n".join(lines)
