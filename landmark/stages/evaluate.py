"""Stage `evaluate`: the emulated user collection; GAP, sensitivity at FPR, accuracy@1, FPR at the stored
threshold and per-landmark results for the trained recognizer and the baselines; plots; MLflow.

    python -m landmark.stages.evaluate [--model PATH] [--no-frozen]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

import torch

from landmark import layout
from landmark.compute.engine import open_engine
from landmark.data.manifest import NON_LANDMARK, SPLIT_CALIBRATION, is_landmark, read_manifest
from landmark.env import compute_threads
from landmark.evaluation.collection import emulated_collection, truth_array
from landmark.evaluation.metrics import passed_by_role
from landmark.evaluation.plots import plot_precision_recall, plot_sensitivity_fpr
from landmark.evaluation.run import Evaluation, flat_metrics, metrics_table
from landmark.evaluation.systems import embed_sets, evaluate_systems
from landmark.evaluation.verified import apply_verified_labels
from landmark.models.embedder import frozen_embedder
from landmark.params import load_params
from landmark.registry.tracking import log_artifact_safe, log_metrics_safe, stage_run
from landmark.retrieval.recognizer import Recognizer
from landmark.stages.common import run_stage, write_metrics

log = logging.getLogger(__name__)


def write_outputs(evaluations: dict[str, Evaluation], out: Path, fprs: tuple[float, ...],
                  extra: dict[str, float] | None = None) -> dict[str, float]:
    """metrics.json (flat keys, + `extra`), per_landmark.csv and both plots; returns the metrics."""
    out.mkdir(parents=True, exist_ok=True)
    metrics = {**flat_metrics(evaluations), **(extra or {})}
    write_metrics(out / "metrics.json", metrics)
    main = evaluations["recognizer"]
    main.per_landmark.to_csv(out / "per_landmark.csv", index=False)
    plot_sensitivity_fpr(
        {k: v.sensitivity_fpr for k, v in evaluations.items()}, out / "sensitivity_fpr.png", fprs
    )
    plot_precision_recall(
        {k: v.precision_recall for k, v in evaluations.items()}, out / "precision_recall.png"
    )
    (out / "metrics_table.md").write_text(metrics_table(evaluations) + "\n")
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--index", type=Path, default=layout.INDEX)
    parser.add_argument("--data-root", type=Path, default=layout.DATA)
    parser.add_argument("--out", type=Path, default=layout.EVALUATE)
    parser.add_argument("--no-frozen", action="store_true", help="skip the frozen-backbone baseline")
    parser.add_argument("--known-from", type=Path, default=None,
                        help="the index folder whose landmarks the collection treats as known (default: --index); "
                             "the gate re-evaluates the champion on the challenger's collection with it")
    args = parser.parse_args()
    torch.set_num_threads(compute_threads())
    params = load_params(args.params)
    model_path = args.model or layout.final_model(len(params.train.stages))
    recognizer = Recognizer.load(args.index, model_path, backend="fp32")  # exact to 1e-6; int8 may change answers
    known = set(recognizer.index.landmarks)
    # the collection's truth: the landmarks of --known-from (the current index when the gate re-evaluates an
    # older champion, whose index may hold other landmarks), so both models answer the same queries
    asked = known if args.known_from is None else set(read_manifest(args.known_from / "database.csv")["landmark"])
    split = read_manifest(layout.SPLIT / "manifest.csv")
    split = apply_verified_labels(split, args.data_root / layout.DATA_NOISE_TRUTH.name, asked)
    indexed = read_manifest(args.index / "database.csv")  # the index stage's database, after its second pass
    database = indexed[is_landmark(indexed) & indexed["landmark"].isin(known)].reset_index(drop=True)
    calibration = split[(split["split"] == SPLIT_CALIBRATION) & (split["landmark"] == NON_LANDMARK)]
    e = params.evaluate
    collection = emulated_collection(split, asked, e.landmark_share, e.min_landmark_queries, e.seed)
    sets = {"database": database, "calibration": calibration, "collection": collection}
    with open_engine(params.compute), stage_run("evaluate", {**dataclasses.asdict(e), "model": str(model_path)}):
        assert recognizer.embedder is not None
        trained = embed_sets(recognizer.embedder, sets, args.data_root, params)
        skip_frozen = args.no_frozen or not e.frozen_baseline
        frozen = None if skip_frozen else embed_sets(frozen_embedder(params.backbone), sets, args.data_root, params)
        # a verifying index (index.verification) also needs the collection photos' local features
        features = (recognizer.local_features([args.data_root / p for p in collection["path"]])
                    if recognizer.verifies else None)
        evaluations = evaluate_systems(
            trained,
            database["landmark"].to_numpy(dtype=object),
            truth_array(collection),
            params,
            frozen,
            recognizer,
            features=features,
        )
        main_results = evaluations["recognizer"].results
        by_role = passed_by_role(main_results, collection["role"].to_numpy(), recognizer.threshold.value)
        metrics = write_outputs(evaluations, args.out, params.index.fprs, by_role)
        collection.assign(
            predicted=main_results.predicted,
            similarity=main_results.similarity,
        ).to_csv(args.out / "predictions.csv", index=False)
        log_metrics_safe(metrics)
        for name in (
            "metrics.json",
            "per_landmark.csv",
            "sensitivity_fpr.png",
            "precision_recall.png",
            "metrics_table.md",
        ):
            log_artifact_safe(args.out / name, artifact_path="evaluate")
    log.info("evaluation:\n%s", metrics_table(evaluations))


if __name__ == "__main__":
    run_stage(main, expected=(ValueError, FileNotFoundError))
