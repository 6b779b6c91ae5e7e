"""The index stage's work as one library call: the cleaned database photos -> a calibrated recognizer.

Embed the database and calibration photos with the trained network (`embed_rows`), clean the
database a second time (landmark.cleaning.second_pass: photos whose neighbours, in frozen and trained
features alike, are another landmark's), build per-landmark centroids and the faiss index, and
calibrate the acceptance threshold on non-landmark calibration photos. With
params.index.verification.enabled, the reference photos' local features are computed too and the
threshold is calibrated on the verified score (landmark.retrieval.verified_search). With
params.index.frozen_weight > 0 the network also returns the frozen backbone's features in the same pass
(landmark.models.frozen_tail), the index keeps the database's (landmark.retrieval.frozen_view), and the
threshold is calibrated on the score with the view's second opinion added.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from landmark.cleaning.second_pass import second_pass_keep
from landmark.cleaning.whitening import fit_clean_whitening
from landmark.data.images import load_rgb
from landmark.models.embedder import Embedder, frozen_embedder
from landmark.models.pipeline_embedding import embed_rows
from landmark.params import Params
from landmark.retrieval.build import build_index, calibrate_index, top1, top1_similarity
from landmark.retrieval.frozen_view import FrozenView, ViewScore, split_rows
from landmark.retrieval.index import CentroidIndex
from landmark.retrieval.left_out import left_out_answers, with_left_out_floor
from landmark.retrieval.recognizer import Recognizer, landmark_table
from landmark.retrieval.threshold import Threshold, calibrate, threshold_for_fpr

if TYPE_CHECKING:
    from landmark.retrieval.reference_features import ReferenceFeatures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseRecognizer:
    """recognizer: the calibrated recognizer; metrics: for metrics.json and MLflow; database: the
    input rows with `evidence` (second-pass neighbour evidence) and `kept` (False: removed)."""

    recognizer: Recognizer
    metrics: dict[str, float]
    database: pd.DataFrame


def second_pass(
    database: pd.DataFrame, trained: np.ndarray, data_root: Path, params: Params
) -> tuple[np.ndarray, np.ndarray]:
    """(keep (N,) bool, evidence (N,) float32) of the second cleaning pass over the database photos,
    from their trained embeddings (N, D) and their frozen ones (embedded here, cached by the clean
    stage). clean.second_pass_margin >= 2 turns it off."""
    c = params.clean
    labels = database["landmark"].to_numpy(dtype=str)
    if c.second_pass_margin >= 2 or len(set(labels)) < 2:
        return np.ones(len(database), dtype=bool), np.zeros(len(database), dtype=np.float32)
    frozen = embed_rows(frozen_embedder(params.backbone), database, data_root, params.embed, desc="embed frozen")
    white = fit_clean_whitening(frozen, c).apply(frozen)
    return second_pass_keep([white, trained], labels, c.cross_k, c.second_pass_margin, c.twin_share)


def verified_threshold(
    index: CentroidIndex,
    database: pd.DataFrame,
    db_emb: np.ndarray,
    calibration: pd.DataFrame,
    cal_emb: np.ndarray,
    data_root: Path,
    params: Params,
) -> tuple[ReferenceFeatures, Threshold, dict[str, float]]:
    """The references of the indexed database photos and the threshold on the calibration photos'
    verified scores, with metrics (references, seconds, verified calibration inliers)."""
    from landmark.retrieval.reference_features import build_references
    from landmark.retrieval.verification import extract
    from landmark.retrieval.verified_search import search_candidates, verify_candidates

    vp = params.index.verification
    start = time.perf_counter()
    paths = database["path"].tolist()
    refs = build_references(lambda i: load_rgb(data_root / paths[i]), db_emb,
                            database["landmark"].to_numpy(dtype=object), database["image_id"].tolist(), vp)
    cal_feats = [extract(load_rgb(data_root / p), vp) for p in calibration["path"]]
    got = verify_candidates(search_candidates(index, cal_emb, vp.top_landmarks), cal_feats, cal_emb, refs, vp)
    threshold = calibrate(got.score, params.index.target_fpr, params.index.fprs)
    log.info("verified threshold %.4f on %d calibration photos", threshold.value, len(calibration))
    return refs, threshold, {
        "verification_references": len(refs.image_ids),
        "verification_seconds": time.perf_counter() - start,
        "calibration_inliers_median": float(np.median(got.inliers)) if len(got.inliers) else 0.0,
    }


def view_threshold(
    index: CentroidIndex,
    db_view: np.ndarray,
    labels: np.ndarray,
    cal_emb: np.ndarray,
    cal_view: np.ndarray,
    left_out: tuple[np.ndarray, np.ndarray, np.ndarray],
    params: Params,
) -> tuple[ViewScore, Threshold, dict[str, float]]:
    """The frozen view of the indexed photos and the threshold on the calibration photos' scores with
    its second opinion, floored by the left-out landmarks' (left_out_answers: scores, answers, rows; none
    without index.left_out_landmarks) scored the same way; with metrics."""
    ip = params.index
    view = ViewScore(FrozenView.build(db_view, labels), ip.frozen_weight, ip.frozen_knn, params.train.trainable_blocks)
    answers, similarity = top1(index, cal_emb)
    non_landmark = calibrate(view.fused(similarity, cal_view, answers), ip.target_fpr, ip.fprs)
    metrics = {"frozen_view_photos": float(len(db_view)), "threshold_non_landmarks": non_landmark.value}
    scores, found, rows = left_out
    fused = view.fused(scores, db_view[rows], found) if scores.size else np.zeros(0)
    if fused.size:
        metrics["threshold_left_out"] = threshold_for_fpr(fused, ip.target_fpr)
    threshold = with_left_out_floor(non_landmark, fused)
    log.info("frozen view (weight %.3g, k %d): threshold %.4f", ip.frozen_weight, ip.frozen_knn, threshold.value)
    return view, threshold, metrics


def split_view(rows: np.ndarray, model: Embedder) -> tuple[np.ndarray, np.ndarray | None]:
    """The network's rows -> (embeddings, frozen view or None when it carries none)."""
    return split_rows(rows, model.view.dim) if model.view is not None else (rows, None)


def build_database_recognizer(
    model: Embedder,
    database: pd.DataFrame,
    calibration: pd.DataFrame,
    data_root: Path,
    params: Params,
    model_ref: str,
) -> DatabaseRecognizer:
    """Embed, second pass, centroids, index, threshold. The caller's frames are left as they were."""
    start = time.perf_counter()
    if params.index.frozen_weight > 0 and model.view is None:
        from landmark.models.frozen_tail import with_frozen_view

        model = with_frozen_view(model, params.train.trainable_blocks)
    db_emb, db_view = split_view(embed_rows(model, database, data_root, params.embed, desc="embed database"), model)
    keep, evidence = second_pass(database, db_emb, data_root, params)
    annotated = database.assign(evidence=evidence, kept=keep)
    kept, kept_emb = annotated[keep].reset_index(drop=True), db_emb[keep]
    cal_emb, cal_view = split_view(embed_rows(model, calibration, data_root, params.embed, desc="embed calibration"),
                                   model)
    labels = kept["landmark"].to_numpy(dtype=object)
    index = build_index(kept_emb, labels, params.index)
    non_landmark = calibrate_index(index, cal_emb, params.index)
    answered = (left_out_answers(kept_emb, labels, params.index, params.index.left_out_landmarks)
                if params.index.left_out_landmarks > 0
                else (np.zeros(0, np.float32), np.zeros(0, dtype=object), np.zeros(0, np.int64)))
    left_out = answered[0]  # scores; the view rescores them with their answers
    threshold = plain = with_left_out_floor(non_landmark, left_out)
    refs: ReferenceFeatures | None = None
    extra: dict[str, float] = {}
    if params.index.verification.enabled:
        refs, threshold, extra = verified_threshold(index, kept, kept_emb, calibration, cal_emb, data_root, params)
    view: ViewScore | None = None
    if db_view is not None and cal_view is not None:
        view, threshold, extra = view_threshold(index, db_view[keep], labels, cal_emb, cal_view, answered, params)
    recognizer = Recognizer(model, index, threshold, landmark_table(kept), params.index.geo_radius_km, model_ref,
                            references=refs, verification=params.index.verification if refs else None,
                            embedding_threshold=plain.value, view=view)
    landmarks = len(index.landmarks)
    metrics = {
        "n_database_photos": len(kept),
        "second_pass_removed": len(database) - len(kept),
        "n_landmarks": landmarks,
        "n_centroids": int(index.index.ntotal),
        "centroids_per_landmark": index.index.ntotal / max(1, landmarks),
        "n_calibration": len(calibration),
        "threshold": threshold.value,
        "threshold_fpr_upper_95": threshold.fpr_upper_95,  # what n_calibration photos can promise
        "threshold_non_landmarks": non_landmark.value,  # before the left-out landmarks' floor
        "left_out_photos": int(left_out.size),
        "embedding_threshold": plain.value,
        "calibration_similarity_median": float(np.median(top1_similarity(index, cal_emb))),
        "seconds": time.perf_counter() - start,
        **extra,
    }
    metrics.update({f"threshold_at_fpr_{k}": v for k, v in threshold.by_fpr.items()})
    if left_out.size and "threshold_left_out" not in metrics:  # the view's own when it has one
        metrics["threshold_left_out"] = threshold_for_fpr(left_out, params.index.target_fpr)
    return DatabaseRecognizer(recognizer, metrics, annotated)
