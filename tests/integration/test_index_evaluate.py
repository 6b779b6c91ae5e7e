"""The index and evaluate stages end to end on a tiny generated world, as subprocesses in a temporary
project folder, logging to a temporary MLflow sqlite store. The network is the ImageNet lite0 backbone
with a fresh 32-d neck, saved with save_embedder as if it were the last training stage's model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from landmark.data.manifest import NON_LANDMARK, read_manifest
from tests.integration.index_project import index_project
from tests.integration.tiny_project import REPO, tiny_params

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("index_eval")
    raw = tiny_params()
    raw["evaluate"]["frozen_baseline"] = True  # this test covers every baseline
    return index_project(root, raw)


def _run(root: Path, module: str, *args: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}")
    env.pop("LANDMARK_NO_MLFLOW", None)
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_index_then_evaluate(project: Path) -> None:
    _run(project, "landmark.stages.index")
    index_dir = project / "artifacts" / "index"
    meta = json.loads((index_dir / "index.json").read_text())
    index_metrics = json.loads((index_dir / "metrics.json").read_text())
    assert -1.0 <= meta["threshold"] <= 1.0 and set(meta["fprs"]) == {"0.01", "0.001"}
    assert index_metrics["n_landmarks"] == 5  # 6 landmarks, 1 left out as unknown
    assert 5 <= index_metrics["n_centroids"] <= 15
    assert index_metrics["bf16_checked"] == 1.0 and abs(index_metrics["bf16_accuracy_drop"]) < 0.2, index_metrics
    assert list((project / "artifacts" / "train").glob("stage_*/onnx/*.ov-bf16.json"))  # read by fast_embedder
    # every landmark photo of the cleaned database is either indexed or removed by the second pass
    indexed = read_manifest(index_dir / "database.csv")
    removed = pd.read_csv(index_dir / "second_pass_removed.csv", dtype=str)
    clean = read_manifest(project / "artifacts" / "clean" / "manifest.csv")
    assert len(indexed) == index_metrics["n_database_photos"] and len(removed) == index_metrics["second_pass_removed"]
    assert len(indexed) + len(removed) == int((clean["landmark"] != NON_LANDMARK).sum())
    assert set(indexed["image_id"]).isdisjoint(removed["image_id"]) and "evidence" in indexed

    _run(project, "landmark.stages.evaluate")
    out = project / "artifacts" / "evaluate"
    metrics = json.loads((out / "metrics.json").read_text())
    for key in (
        "gap",
        "sensitivity_at_fpr_1pct",
        "sensitivity_at_fpr_0_1pct",
        "accuracy_at_1",
        "fpr_at_threshold",
        "baseline_frozen.gap",
        "baseline_single_centroid.gap",
        "baseline_nearest_photo.gap",
    ):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["n_landmark_queries"] >= 5 and metrics["n_reject_queries"] > metrics["n_landmark_queries"]
    assert metrics["accuracy_at_1"] > 0.3, metrics  # 5 landmarks: chance is 0.2
    for name in ("per_landmark.csv", "sensitivity_fpr.png", "precision_recall.png"):
        assert (out / name).stat().st_size > 100
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True, filter_string="tags.stage = 'evaluate'")
    assert len(runs) == 1 and runs.iloc[0]["metrics.gap"] == pytest.approx(metrics["gap"], abs=1e-6)


def test_left_out_landmarks_floor_the_stored_threshold(project: Path) -> None:
    raw = yaml.safe_load((project / "params.yaml").read_text())
    raw["index"]["left_out_landmarks"] = 3
    (project / "params_left_out.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    _run(project, "landmark.stages.index", "--params", "params_left_out.yaml", "--out", "artifacts/index_left_out")
    out = project / "artifacts" / "index_left_out"
    metrics = json.loads((out / "metrics.json").read_text())
    meta = json.loads((out / "index.json").read_text())
    indexed = read_manifest(out / "database.csv")
    # 3 of the 5 indexed landmarks were left out: all of their photos were scored
    assert 0 < metrics["left_out_photos"] < len(indexed)
    assert metrics["threshold"] == pytest.approx(max(metrics["threshold_non_landmarks"],
                                                     metrics["threshold_left_out"]), abs=1e-5)
    assert meta["threshold"] == pytest.approx(metrics["threshold"], abs=1e-5)  # metrics.json: 6 decimals
    default = json.loads((project / "artifacts" / "index" / "metrics.json").read_text())
    assert default["left_out_photos"] == 0 and default["threshold"] == default["threshold_non_landmarks"]
