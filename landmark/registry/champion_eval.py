"""The gate compares on the SAME evaluation collection: the champion is evaluated again, here, on the
challenger's collection (the current data version and split), and both models' per-query answers
feed the paired bootstrap of the gate (`landmark.evaluation.bootstrap`)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow
import pandas as pd

from landmark import layout

log = logging.getLogger(__name__)
COLLECTION_TAG = "eval.collection"


def collection_key(predictions_csv: Path) -> str:
    """A hash of the evaluation collection (which photos, with which truth) from predictions.csv."""
    frame = pd.read_csv(predictions_csv, dtype=str, keep_default_na=False)
    rows = sorted(zip(frame["image_id"], frame["landmark"], strict=True))
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:20]


def evaluate_version_on_current_collection(root: Path, name: str, version: str,
                                           out: Path) -> tuple[dict[str, float], Path]:
    """Download version `version` of the recognizer and run the evaluate stage with its network and
    index on the project's current collection (no frozen baseline), writing into `out`; returns its
    metrics and its predictions.csv. The collection's known landmarks are the current index's: the
    champion's index may hold others (another data version, or another split)."""
    with tempfile.TemporaryDirectory(prefix="champion-eval-") as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=tmp))
        models, indexes = list(local.rglob("model.pt")), list(local.rglob("index.faiss"))
        if len(models) != 1 or len(indexes) != 1:
            raise RuntimeError(f"{name} v{version}: expected one model.pt and one index.faiss in its artifacts, "
                               f"found {len(models)} and {len(indexes)}")
        model, index = models[0], indexes[0].parent
        args = [sys.executable, "-m", "landmark.stages.evaluate", "--model", str(model), "--index", str(index),
                "--out", str(out), "--no-frozen", "--known-from", str(root / layout.INDEX)]
        env = {**os.environ, "LANDMARK_NO_MLFLOW": "1"}
        result = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"re-evaluating {name} v{version} failed:\n{result.stderr[-2000:]}")
    return dict(json.loads((out / "metrics.json").read_text())), out / "predictions.csv"


def predictions_path(root: Path) -> Path:
    return root / layout.EVALUATE / "predictions.csv"
