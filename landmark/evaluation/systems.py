"""The recognizer and its baselines evaluated on the same collection, with the photos embedded once
per network: the trained recognizer (several centroids per landmark), one centroid per landmark,
nearest photo instead of centroids, and the frozen ImageNet backbone (pooled features, no training)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from landmark.evaluation.run import Evaluation, evaluate_embeddings, evaluate_recognizer
from landmark.models.array_embedder import ArrayEmbedder
from landmark.models.embedder import Embedder
from landmark.models.pipeline_embedding import embed_rows
from landmark.params import Params
from landmark.retrieval.recognizer import Recognizer

if TYPE_CHECKING:
    from landmark.retrieval.verification import LocalFeatures

log = logging.getLogger(__name__)
SETS = ("database", "calibration", "collection")


def embed_sets(
    model: Embedder | ArrayEmbedder,
    sets: dict[str, pd.DataFrame],
    data_root: Path,
    params: Params,
    use_cache: bool = True,
) -> dict[str, np.ndarray]:
    """Each manifest's photos (data_root / path) -> (N, D) float32 L2-normalised embeddings."""
    out = {}
    for name, rows in sets.items():
        out[name] = embed_rows(model, rows, data_root, params.embed, use_cache=use_cache, desc=f"embed {name}")
        log.info("embedded %s: %s", name, out[name].shape)
    return out


def evaluate_systems(
    trained: dict[str, np.ndarray],
    db_labels: np.ndarray,
    truth: np.ndarray,
    params: Params,
    frozen: dict[str, np.ndarray] | None = None,
    recognizer: Recognizer | None = None,
    main: str = "recognizer",
    features: list[LocalFeatures | None] | None = None,
) -> dict[str, Evaluation]:
    """Evaluations keyed by system name: `main` (the stored recognizer if given, else built from the
    trained embeddings), baseline_single_centroid, baseline_nearest_photo, baseline_frozen (when
    frozen embeddings are given). Embedding dicts hold the SETS. features: the collection photos' local
    features, for a stored recognizer that verifies."""
    fprs = params.index.fprs
    out: dict[str, Evaluation] = {}
    plain = trained  # the baselines see the embeddings alone, without a stored recognizer's frozen view
    if recognizer is not None and recognizer.view is not None:
        plain = {k: recognizer.view.split(v)[0] for k, v in trained.items()}

    def from_embeddings(variant: str) -> Evaluation:
        evaluation, _ = evaluate_embeddings(plain["database"], db_labels, plain["calibration"],
                                            plain["collection"], truth, params.index, variant)
        return evaluation

    if recognizer is not None:
        out[main] = evaluate_recognizer(recognizer, trained["collection"], truth, fprs, features=features)
    else:
        out[main] = from_embeddings("centroids")
    for name, variant in (("baseline_single_centroid", "single"), ("baseline_nearest_photo", "photos")):
        out[name] = from_embeddings(variant)
    if frozen is not None:
        out["baseline_frozen"], _ = evaluate_embeddings(
            frozen["database"],
            db_labels,
            frozen["calibration"],
            frozen["collection"],
            truth,
            params.index,
            "centroids",
        )
    for name, ev in out.items():
        log.info(
            "%s: gap %.4f, sensitivity@1%% %.4f, acc@1 %.4f",
            name,
            ev.metrics["gap"],
            ev.metrics.get("sensitivity_at_fpr_1pct", float("nan")),
            ev.metrics["accuracy_at_1"],
        )
    return out
