"""Cost of the orchestration itself, on a tiny generated project (the flow tests' world):

- a full retrain: the flow's wall time against the sum of the stage commands' own wall time
  (each stage timed as a bare `python -m landmark.stages.X` in the same run, same project);
- a rerun where nothing changed: every stage skipped by DVC, registration deduplicated
  (target under 15 s), against one bare no-op `dvc status`.

`python -m bench.bench_orchestration`
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _bare_stages(root: Path) -> float:
    """Run every stage's command directly (no DVC, no Prefect, no MLflow) in order; total seconds."""
    env = {**os.environ, "LANDMARK_NO_MLFLOW": "1"}
    total = 0.0
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        commands = [stage.cmd for stage in repo.index.stages if stage.cmd]  # train@1..K expanded by DVC
    for cmd in commands:
        t0 = time.perf_counter()
        subprocess.run(cmd.replace("python", sys.executable, 1).split(), cwd=root, env=env, check=True,
                       capture_output=True)
        total += time.perf_counter() - t0
    return total


def main() -> list[dict[str, Any]]:
    from flows.retrain import retrain
    from landmark.env import apply_offline_env
    from tests.integration.tiny_project import make_tiny_project

    work = Path(tempfile.mkdtemp(prefix="bench-orch-"))
    try:
        root = make_tiny_project(work / "project")
        (root / "mlflow").mkdir(exist_ok=True)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root}/mlflow/mlflow.db"
        os.environ.pop("LANDMARK_NO_MLFLOW", None)
        apply_offline_env(root)
        t0 = time.perf_counter()
        full = retrain(project_dir=str(root))
        full_s = time.perf_counter() - t0
        stage_s = sum(full["stage_seconds"].values())
        t0 = time.perf_counter()
        again = retrain(project_dir=str(root))
        noop_s = time.perf_counter() - t0
        assert set(again["stages"].values()) == {"skipped"}, again["stages"]
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dvc", "status"], cwd=root, check=True, capture_output=True)
        dvc_status_s = time.perf_counter() - t0
        shutil.rmtree(root / "artifacts")
        bare_s = _bare_stages(root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [
        {"figure": "full retrain (tiny world), s", "project": round(full_s, 1), "baseline": round(bare_s, 1),
         "ratio": round(full_s / bare_s, 2), "note": "baseline: the stage commands run bare, in order"},
        {"figure": "share of the full run outside the stages' own work", "project": round(1 - bare_s / full_s, 3),
         "baseline": 0.0, "ratio": "", "note": f"DVC+Prefect+MLflow+registration; stage tasks {stage_s:.1f} s"},
        {"figure": "rerun with nothing changed, s (target < 15)", "project": round(noop_s, 1),
         "baseline": round(dvc_status_s, 1), "ratio": round(noop_s / dvc_status_s, 1),
         "note": "baseline: one `dvc status`"},
    ]
    for row in rows:
        print(f"| {row['figure']} | {row['project']} | {row['baseline']} | {row['ratio']} | {row['note']} |")
    return rows


if __name__ == "__main__":
    main()
