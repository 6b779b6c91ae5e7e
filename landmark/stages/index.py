"""Stage `index`: embed the cleaned database with the trained network, clean it a second time with it
(landmark.cleaning.second_pass: photos whose neighbours, in frozen and trained features alike, are
another landmark's), build per-landmark centroids and the faiss index, calibrate the threshold on
non-landmark calibration photos; write artifacts/index/ (database.csv: the indexed photos;
second_pass_removed.csv: the photos the second pass removed, with their evidence).
It also checks the network's fast OpenVINO bf16 variant on the database photos (accuracy@1 within 1
point of fp32), so `landmark recognize`, `albums` and the registered model can use it.

    python -m landmark.stages.index [--model PATH] [--data-root data]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from landmark import layout
from landmark.cleaning.scoring import truth_removal_scores
from landmark.cleaning.second_pass import second_pass_keep
from landmark.compute.distributed_embed import embed_photos
from landmark.compute.engine import open_engine
from landmark.data.manifest import (
    NOISE_TRUTH_NAME,
    NON_LANDMARK,
    SPLIT_CALIBRATION,
    SPLIT_TRAIN,
    is_landmark,
    read_manifest,
    write_manifest,
)
from landmark.env import compute_threads
from landmark.models.checkpoint import load_embedder
from landmark.models.embedder import Embedder, frozen_embedder
from landmark.params import Params, load_params
from landmark.registry.tracking import log_artifact_safe, log_metrics_safe, stage_run
from landmark.retrieval.build import build_index, calibrate_index, top1_similarity
from landmark.retrieval.recognizer import Recognizer, landmark_table
from landmark.retrieval.whitening import fit_whitening
from landmark.stages.common import run_stage, write_metrics

log = logging.getLogger(__name__)


def embed_manifest(model: Embedder, rows: pd.DataFrame, data_root: Path, params: Params) -> np.ndarray:
    """(N, D) float32 L2-normalised embeddings of the manifest rows' photos (with the embedding cache)."""
    cache = Path(params.embed.cache_dir) if params.embed.cache_dir else None
    return embed_photos(
        model,
        [data_root / p for p in rows["path"]],
        preprocessing="timm",
        batch_size=params.embed.batch_size,
        workers=params.embed.num_workers,
        cache_dir=cache,
    )


def second_pass(
    database: pd.DataFrame, db_emb: np.ndarray, data_root: Path, params: Params
) -> tuple[np.ndarray, np.ndarray]:
    """(keep (N,) bool, evidence (N,) float32) of the second cleaning pass over the database photos
    (clean.second_pass_margin >= 2 turns it off)."""
    c = params.clean
    labels = database["landmark"].to_numpy(dtype=str)
    if c.second_pass_margin >= 2 or len(set(labels)) < 2:
        return np.ones(len(database), dtype=bool), np.zeros(len(database), dtype=np.float32)
    frozen = embed_manifest(frozen_embedder(params.backbone), database, data_root, params)  # cached by the clean stage
    white = fit_whitening(frozen, c.whiten_dim).apply(frozen)
    return second_pass_keep([white, db_emb], labels, c.cross_k, c.second_pass_margin, c.twin_share)


def build_recognizer(
    model: Embedder,
    database: pd.DataFrame,
    calibration: pd.DataFrame,
    data_root: Path,
    params: Params,
    model_ref: str,
) -> tuple[Recognizer, dict[str, float], pd.DataFrame]:
    """Embed database + calibration photos, clean the database a second time (`second_pass`); centroids,
    index, threshold -> (recognizer, metrics, the database rows with an `evidence` column and a `kept`
    one (False: removed by the second pass)). The caller's frame is left as it was."""
    start = time.perf_counter()
    db_emb = embed_manifest(model, database, data_root, params)
    keep, evidence = second_pass(database, db_emb, data_root, params)
    annotated = database.assign(evidence=evidence, kept=keep)
    n_all = len(database)
    database, db_emb = annotated[keep].reset_index(drop=True), db_emb[keep]
    cal_emb = embed_manifest(model, calibration, data_root, params)
    index = build_index(db_emb, database["landmark"].to_numpy(dtype=object), params.index)
    threshold = calibrate_index(index, cal_emb, params.index)
    recognizer = Recognizer(
        model, index, threshold, landmark_table(database), params.index.geo_radius_km, model_ref
    )
    landmarks = len(index.landmarks)
    cal_sims = top1_similarity(index, cal_emb)
    metrics = {
        "n_database_photos": len(database),
        "second_pass_removed": n_all - len(database),
        "n_landmarks": landmarks,
        "n_centroids": int(index.index.ntotal),
        "centroids_per_landmark": index.index.ntotal / max(1, landmarks),
        "n_calibration": len(calibration),
        "threshold": threshold.value,
        "calibration_similarity_median": float(np.median(cal_sims)),
        "seconds": time.perf_counter() - start,
    }
    metrics.update({f"threshold_at_fpr_{k}": v for k, v in threshold.by_fpr.items()})
    return recognizer, metrics, annotated


def check_fast_variant(model_path: Path, database: pd.DataFrame, data_root: Path) -> dict[str, float]:
    """Check OpenVINO bf16 against fp32 on the database photos (recorded next to the model's ONNX
    export, read by `fast_embedder(auto)`); metrics for MLflow. A runtime that fails is logged and
    skipped: the recognizer then runs on ONNX Runtime fp32."""
    from landmark.models.onnx_embedder import check_variant

    try:
        record = check_variant(model_path, "ov-bf16", [data_root / p for p in database["path"]],
                               list(database["landmark"]))
    except Exception as exc:  # noqa: BLE001 - an optional speed-up must not fail the stage
        log.warning("OpenVINO bf16 not checked (%s): the recognizer will use ONNX Runtime fp32", exc)
        return {"bf16_checked": 0.0}
    return {"bf16_checked": 1.0, "bf16_passed": float(record["passed"]), "bf16_accuracy_drop": record["drop"],
            "bf16_speedup": record["speedup"], "bf16_cosine_mean": record["cosine_mean"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument(
        "--model", type=Path, default=None, help="default: the last curriculum stage's model.pt"
    )
    parser.add_argument("--data-root", type=Path, default=layout.DATA)
    parser.add_argument("--out", type=Path, default=layout.INDEX)
    args = parser.parse_args()
    torch.set_num_threads(compute_threads())
    params = load_params(args.params)
    model_path = args.model or layout.final_model(len(params.train.stages))
    clean = read_manifest(layout.CLEAN / "manifest.csv")
    database = clean[is_landmark(clean)].reset_index(drop=True)
    split = read_manifest(layout.SPLIT / "manifest.csv")
    calibration = split[(split["split"] == SPLIT_CALIBRATION) & (split["landmark"] == NON_LANDMARK)]
    if calibration.empty:
        raise ValueError(f"{layout.SPLIT / 'manifest.csv'}: no non-landmark calibration photos")
    with open_engine(params.compute), \
            stage_run("index", {**dataclasses.asdict(params.index), "model": str(model_path)}):
        model = load_embedder(model_path)
        recognizer, metrics, database = build_recognizer(
            model, database, calibration.reset_index(drop=True), args.data_root, params, str(model_path)
        )
        recognizer.save(args.out, extra={"params": dataclasses.asdict(params.index)})
        indexed = database[database["kept"]].drop(columns=["kept"])
        write_manifest(indexed, args.out / "database.csv")
        write_manifest(database[~database["kept"]].drop(columns=["kept"]), args.out / "second_pass_removed.csv")
        metrics.update(check_fast_variant(model_path, indexed, args.data_root))
        # both passes together, against the sample world's truth: train landmark photos vs indexed ones
        train = split[(split["split"] == SPLIT_TRAIN) & is_landmark(split)]
        metrics.update(truth_removal_scores(train["image_id"], indexed["image_id"], args.data_root / NOISE_TRUTH_NAME))
        write_metrics(args.out / "metrics.json", metrics)
        log_metrics_safe(metrics)
        for name in ("index.json", "centroids.csv", "metrics.json", "second_pass_removed.csv"):
            log_artifact_safe(args.out / name, artifact_path="index")
    log.info("index: %s", metrics)


if __name__ == "__main__":
    run_stage(main, expected=(ValueError, FileNotFoundError))
