"""Stage `index`: the cleaned database -> a calibrated recognizer
(landmark.retrieval.database_recognizer: trained embeddings, second cleaning pass, centroids, faiss
index, threshold); writes artifacts/index/ (database.csv: the indexed photos;
second_pass_removed.csv: the photos the second pass removed, with their evidence).
It also checks the network's fast OpenVINO bf16 variant on the database photos (accuracy@1 within 1
point of fp32), so `landmark recognize`, `albums` and the registered model can use it.

    python -m landmark.stages.index [--model PATH] [--data-root data]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

import torch

from landmark import layout
from landmark.cleaning.scoring import truth_removal_scores
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
from landmark.models.onnx_embedder import check_fast_variant
from landmark.params import load_params
from landmark.registry.tracking import log_artifact_safe, log_metrics_safe, stage_run
from landmark.retrieval.database_recognizer import build_database_recognizer
from landmark.stages.common import run_stage, write_metrics

log = logging.getLogger(__name__)


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
    calibrating = split["split"] == SPLIT_CALIBRATION
    calibration = split[calibrating & (split["landmark"] == NON_LANDMARK)]
    if calibration.empty:
        raise ValueError(f"{layout.SPLIT / 'manifest.csv'}: no non-landmark calibration photos")
    unseen = split[calibrating & is_landmark(split)].reset_index(drop=True)  # split.calibration_landmarks
    with open_engine(params.compute), \
            stage_run("index", {**dataclasses.asdict(params.index), "model": str(model_path)}):
        model = load_embedder(model_path)
        built = build_database_recognizer(
            model, database, calibration.reset_index(drop=True), args.data_root, params, str(model_path), unseen
        )
        recognizer, metrics, database = built.recognizer, built.metrics, built.database
        recognizer.save(args.out, extra={"params": dataclasses.asdict(params.index)})
        indexed = database[database["kept"]].drop(columns=["kept"])
        write_manifest(indexed, args.out / "database.csv")
        write_manifest(database[~database["kept"]].drop(columns=["kept"]), args.out / "second_pass_removed.csv")
        metrics.update(
            check_fast_variant(model_path, [args.data_root / p for p in indexed["path"]], list(indexed["landmark"]))
        )
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
