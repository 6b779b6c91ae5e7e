"""Register the trained recognizer and its index in the MLflow registry, tagged with lineage and
evaluation metrics; then run the promotion gate on the recognizer.

Run as `python -m landmark.registry.register` by the retrain flow (so the flow process never imports
torch); prints one JSON object with the versions and the gate's decision.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient

from landmark import layout
from landmark.env import apply_offline_env, repo_root
from landmark.evaluation.bootstrap import paired_gap_from_files
from landmark.params import load_params
from landmark.registry.champion_eval import (
    COLLECTION_TAG,
    collection_key,
    evaluate_version_on_current_collection,
    predictions_path,
)
from landmark.registry.champion_model import RECOGNIZER
from landmark.registry.description import describe_pair
from landmark.registry.integrity import DIGEST_TAG, record_version_digests
from landmark.registry.lineage import collect_lineage
from landmark.registry.mlflow_names import mlflow_names
from landmark.registry.pair import complete_pair, register_pair
from landmark.registry.promotion import champion_version, gate
from landmark.registry.tracking import PARENT_RUN_ENV, ensure_experiment, tracking_uri

log = logging.getLogger(__name__)
INDEX = "landmark-index"


def final_model_path(root: Path) -> Path:
    """The last curriculum stage's network."""
    return root / layout.final_model(len(load_params(root / "params.yaml").train.stages))


def _tag(client: MlflowClient, name: str, version: str, tags: dict[str, Any]) -> None:
    for key, value in mlflow_names(tags).items():
        client.set_model_version_tag(name, version, key, str(value))


def register(root: Path, flow_run_id: str = "", parent_run_id: str | None = None) -> dict[str, Any]:
    """Register (once per lineage) both models, tag them and gate the recognizer. Returns a summary."""
    from landmark.registry.index_model import log_index_model
    from landmark.registry.pyfunc import log_recognizer

    params = load_params(root / "params.yaml")
    metrics_path = root / layout.EVALUATE / "metrics.json"
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{metrics_path}: no evaluation; a model is never registered without one")
    metrics = json.loads(metrics_path.read_text())
    model_path = final_model_path(root)
    lineage = collect_lineage(root, model_path, flow_run_id)
    mlflow.set_tracking_uri(tracking_uri(root))
    client = MlflowClient()
    experiment_id = os.environ.get("MLFLOW_EXPERIMENT_ID") or ensure_experiment(root)
    summary: dict[str, Any] = {"lineage": lineage.tags()}
    names = (RECOGNIZER, INDEX)
    recognizer_version, index_version, summary["registered"] = register_pair(
        client, names, lineage.tags(),
        (lambda: log_recognizer(root / layout.INDEX, model_path, artifact_path="recognizer", limits=params.serve),
         lambda: log_index_model(root / layout.INDEX)),
        start_run=lambda: mlflow.start_run(run_name="register", experiment_id=experiment_id,
                                           parent_run_id=parent_run_id))
    for name, version in ((RECOGNIZER, recognizer_version), (INDEX, index_version)):
        if DIGEST_TAG not in client.get_model_version(name, version).tags:
            record_version_digests(client, name, version)  # verified when the pyfunc loads
    gate_metrics = {f"metric.{k}": v for k, v in metrics.items() if isinstance(v, int | float)}
    key = collection_key(predictions_path(root))
    for name, version in ((RECOGNIZER, recognizer_version), (INDEX, index_version)):
        _tag(client, name, version, {**lineage.tags(), **gate_metrics, COLLECTION_TAG: key})
    complete_pair(client, names, (recognizer_version, index_version))  # last: now promotable
    current = champion_version(client, RECOGNIZER)
    baseline, paired = None, None
    collection = f"{key} (data md5 {lineage.tags().get('lineage.data_md5', '?')})"
    if current is not None and current != recognizer_version:
        rule = params.promotion
        with tempfile.TemporaryDirectory(prefix="champion-eval-") as tmp:
            log.info("evaluating champion v%s on the current collection for the paired comparison", current)
            baseline, champion_csv = evaluate_version_on_current_collection(root, RECOGNIZER, current, Path(tmp))
            paired = paired_gap_from_files(predictions_path(root), champion_csv, rule.bootstrap_samples,
                                           rule.confidence, rule.seed)
    decision = gate(client, RECOGNIZER, recognizer_version, params.promotion, champion_metrics=baseline,
                    paired=paired, collection=collection)
    if decision.promote:  # the index follows its recognizer
        client.set_registered_model_alias(INDEX, "champion", index_version)
    describe_pair(client, (RECOGNIZER, recognizer_version), (INDEX, index_version), metrics, lineage, decision)
    summary.update({
        "recognizer_version": recognizer_version, "index_version": index_version,
        "promoted": decision.promote, "reasons": list(decision.reasons),
        "champion_before": decision.champion_version,
        "metrics": {k: metrics[k] for k in ("gap", "sensitivity_at_fpr_1pct", "fpr_at_threshold",
                                            "accuracy_at_1") if k in metrics},
    })
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flow-run-id", default="")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    apply_offline_env()
    summary = register(repo_root(), args.flow_run_id, os.environ.get(PARENT_RUN_ENV))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
