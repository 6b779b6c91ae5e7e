"""The validate stage with MLflow on (a real sqlite store in tmp_path) and 16-bit PNGs in the data.

Before the one sanitiser of MLflow keys (landmark/registry/mlflow_names.py) the stage crashed here:
it logs one metric per original PIL mode and MLflow refuses the key `modes.I;16`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from PIL import Image

from landmark.registry.mlflow_names import mlflow_name

pytestmark = pytest.mark.integration


def _photo(path: Path, kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "I;16":  # 16-bit greyscale PNG, a perfectly valid photo
        Image.fromarray(rng.integers(0, 65535, (40, 48), dtype=np.uint16)).save(path)
    else:
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)


def test_validate_logs_a_16_bit_png_to_a_real_store(tmp_path: Path, repo_dir: Path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    shutil.copy(repo_dir / "params.yaml", project / "params.yaml")
    rows = []
    for landmark in ("Tower", "Bridge"):
        for i in range(6):
            kind = "I;16" if i < 2 else "RGB"
            path = f"{landmark}/{i}.png"
            _photo(project / "data" / path, kind, seed=i + 10 * len(landmark))
            rows.append({"image_id": f"{landmark}-{i}", "path": path, "landmark": landmark})
    pd.DataFrame(rows).to_csv(project / "data" / "manifest.csv", index=False)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {k: v for k, v in os.environ.items() if k not in ("LANDMARK_NO_MLFLOW", "MLFLOW_EXPERIMENT_ID")}
    env.update(MLFLOW_TRACKING_URI=store, PYTHONPATH=str(repo_dir))
    done = subprocess.run([sys.executable, "-m", "landmark.stages.validate"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    client = MlflowClient(tracking_uri=store)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.data.tags["stage"] == "validate" and run.info.status == "FINISHED"
    metrics = run.data.metrics
    assert metrics["kept"] == 12.0 and metrics["rows_in"] == 12.0
    assert metrics[mlflow_name("modes.I;16")] == 4.0  # "modes.I_16-h6c05d2f5"
    assert metrics["modes.RGB"] == 8.0
    assert "modes.I;16" not in metrics
