"""The index stage's work as one library call: the cleaned database photos -> a calibrated recognizer.

Embed the database and calibration photos with the trained network (`embed_rows`), clean the
database a second time (landmark.cleaning.second_pass: photos whose neighbours, in frozen and trained
features alike, are another landmark's), build per-landmark centroids and the faiss index, and
calibrate the acceptance threshold on non-landmark calibration photos, floored by photos of landmarks the
index does not hold: the split's calibration landmarks (landmark.retrieval.unseen_landmarks) and, with
index.left_out_landmarks, the database's own left out one at a time (landmark.retrieval.left_out). With
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
from landmark.retrieval.unseen_landmarks import counted, own_landmark_similarity

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


@dataclass(frozen=True)
class MustReject:
    """Landmark photos the threshold must also reject, scored against the index: (M,) acceptance
    scores, (M,) the landmark answered (object), (M, C) their frozen view's features (None without a
    view). `source` names them in metrics and logs: left_out (index.left_out_landmarks) or unseen
    (split.calibration_landmarks)."""

    source: str
    scores: np.ndarray
    answers: np.ndarray
    view: np.ndarray | None = None


def floored(threshold: Threshold, groups: list[MustReject], rescore: ViewScore | None = None
            ) -> tuple[Threshold, dict[str, float]]:
    """`threshold` raised to each group's threshold at the same FPR (on the view's fused score when
    `rescore` is given); metrics threshold_<source> for each group that has photos."""
    metrics: dict[str, float] = {}
    for group in groups:
        scores = group.scores
        if rescore is not None and scores.size:
            if group.view is None:
                raise ValueError(f"{group.source} landmarks: their frozen view's features are needed to rescore")
            scores = rescore.fused(scores, group.view, group.answers)
        if scores.size:
            metrics[f"threshold_{group.source}"] = threshold_for_fpr(scores, threshold.target_fpr)
        threshold = with_left_out_floor(threshold, np.asarray(scores), source=f"{group.source} landmarks")
    return threshold, metrics


def view_threshold(
    index: CentroidIndex,
    db_view: np.ndarray,
    labels: np.ndarray,
    cal_emb: np.ndarray,
    cal_view: np.ndarray,
    must_reject: list[MustReject],
    params: Params,
) -> tuple[ViewScore, Threshold, dict[str, float]]:
    """The frozen view of the indexed photos and the threshold on the calibration photos' scores with
    its second opinion, floored by the must-reject landmark photos scored the same way; with metrics."""
    ip = params.index
    view = ViewScore(FrozenView.build(db_view, labels), ip.frozen_weight, ip.frozen_knn, params.train.trainable_blocks)
    answers, similarity = top1(index, cal_emb)
    non_landmark = calibrate(view.fused(similarity, cal_view, answers), ip.target_fpr, ip.fprs)
    threshold, metrics = floored(non_landmark, must_reject, view)
    metrics.update({"frozen_view_photos": float(len(db_view)), "threshold_non_landmarks": non_landmark.value})
    log.info("frozen view (weight %.3g, k %d): threshold %.4f", ip.frozen_weight, ip.frozen_knn, threshold.value)
    return view, threshold, metrics


def unseen_must_reject(index: CentroidIndex, emb: np.ndarray, view: np.ndarray | None, labels: np.ndarray,
                     ) -> tuple[MustReject, int]:
    """The calibration landmarks' photos (split.calibration_landmarks) that count as unseen-landmark
    photos (landmark.retrieval.unseen_landmarks.counted), scored against the index; and how many
    photos there were."""
    answers, scores = top1(index, emb)
    keep = counted(scores, own_landmark_similarity(emb, labels))
    return MustReject("unseen", scores[keep], answers[keep], None if view is None else view[keep]), len(emb)


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
    unseen: pd.DataFrame | None = None,
) -> DatabaseRecognizer:
    """Embed, second pass, centroids, index, threshold. `calibration`: non-landmark photos; `unseen`:
    photos of landmarks the index does not hold (split.calibration_landmarks), which floor the
    threshold. The caller's frames are left as they were."""
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
    must_reject: list[MustReject] = []
    if params.index.left_out_landmarks > 0:
        scores, found, rows = left_out_answers(kept_emb, labels, params.index, params.index.left_out_landmarks)
        must_reject.append(MustReject("left_out", scores, found, None if db_view is None else db_view[keep][rows]))
    n_unseen = 0
    if unseen is not None and len(unseen):
        un_emb, un_view = split_view(embed_rows(model, unseen, data_root, params.embed, desc="embed unseen landmarks"),
                                     model)
        group, n_unseen = unseen_must_reject(index, un_emb, un_view, unseen["landmark"].to_numpy(dtype=str))
        must_reject.append(group)
    plain, extra = floored(non_landmark, must_reject)
    threshold = plain
    refs: ReferenceFeatures | None = None
    if params.index.verification.enabled:  # the verified score is calibrated on non-landmarks only
        refs, threshold, verified = verified_threshold(index, kept, kept_emb, calibration, cal_emb, data_root, params)
        extra.update(verified)
    view: ViewScore | None = None
    if db_view is not None and cal_view is not None:
        view, threshold, extra = view_threshold(index, db_view[keep], labels, cal_emb, cal_view, must_reject, params)
    recognizer = Recognizer(model, index, threshold, landmark_table(kept), params.index.geo_radius_km, model_ref,
                            references=refs, verification=params.index.verification if refs else None,
                            embedding_threshold=plain.value, view=view)
    landmarks = len(index.landmarks)
    sizes = {g.source: int(g.scores.size) for g in must_reject}
    metrics = {
        "n_database_photos": len(kept),
        "second_pass_removed": len(database) - len(kept),
        "n_landmarks": landmarks,
        "n_centroids": int(index.index.ntotal),
        "centroids_per_landmark": index.index.ntotal / max(1, landmarks),
        "n_calibration": len(calibration),
        "threshold": threshold.value,
        "threshold_fpr_upper_95": threshold.fpr_upper_95,  # what n_calibration photos can promise
        "threshold_non_landmarks": non_landmark.value,  # before the must-reject landmarks' floors
        "left_out_photos": sizes.get("left_out", 0),
        "unseen_landmark_photos": n_unseen,  # split.calibration_landmarks' photos ...
        "unseen_landmark_photos_counted": sizes.get("unseen", 0),  # ... that count (unseen_landmarks.counted)
        "embedding_threshold": plain.value,
        "calibration_similarity_median": float(np.median(top1_similarity(index, cal_emb))),
        "seconds": time.perf_counter() - start,
        **extra,
    }
    metrics.update({f"threshold_at_fpr_{k}": v for k, v in threshold.by_fpr.items()})
    return DatabaseRecognizer(recognizer, metrics, annotated)
