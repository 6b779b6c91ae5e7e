"""The `retrain` flow: validate -> split -> clean -> train@1..K -> index -> evaluate (DVC stages),
then register the recognizer and the index in MLflow and gate the promotion.

It opens the MLflow run that the stages' runs nest under; a failing stage fails the flow and nothing
after it runs, so a version is never registered or promoted without its evaluation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import mlflow
from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run

from flows.dvc_tasks import pipeline_stages, stage_task
from flows.preflight import check_mlflow, check_project
from landmark.env import apply_offline_env, repo_root
from landmark.project_lock import project_lock
from landmark.registry.lineage import data_md5
from landmark.registry.mlflow_names import mlflow_name
from landmark.registry.tracking import PARENT_RUN_ENV, ensure_experiment, set_tags_safe, tracking_uri
from landmark.vcs import head_commit

# The MLflow server may be briefly unreachable: the registration is retried (MLflow's own HTTP client
# retries each request too). A retry resumes a half-registered pair (landmark/registry/pair.py).
REGISTER_RETRIES = 2
REGISTER_RETRY_DELAYS: list[float] = [10.0, 30.0]


@task(name="register-and-gate", retries=REGISTER_RETRIES, retry_delay_seconds=REGISTER_RETRY_DELAYS)
def register_and_gate(root: Path, env: dict[str, str], flow_run_id: str) -> dict[str, Any]:
    """Register both models (once per lineage) and run the promotion gate, in a subprocess; retried
    REGISTER_RETRIES times (a retry completes a pair that a failure left half registered)."""
    logger = get_run_logger()
    args = [sys.executable, "-m", "landmark.registry.register", "--flow-run-id", flow_run_id]
    result = subprocess.run(args, cwd=root, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"registration failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    logger.info("registered recognizer v%s, index v%s; promoted: %s (%s)", summary["recognizer_version"],
                summary["index_version"], summary["promoted"], "; ".join(summary["reasons"]))
    return summary


@flow(name="retrain", log_prints=True)
def retrain(project_dir: str = "", force: bool = False, register_models: bool = True) -> dict[str, Any]:
    """Run the whole pipeline on the current data version, then register and gate the new model.

    project_dir: the project root (default: found from the cwd). force: rerun every stage even when
    DVC says nothing changed. register_models: register and gate the models after evaluation.
    """
    root = Path(project_dir).resolve() if project_dir else repo_root()
    with project_lock(root, "retrain flow"):  # re-entrant: `landmark retrain` already holds it
        return _retrain(root, force, register_models)


def _retrain(root: Path, force: bool, register_models: bool) -> dict[str, Any]:
    apply_offline_env(root)
    logger = get_run_logger()
    check_project(root)
    check_mlflow(tracking_uri(root))
    experiment_id = ensure_experiment(root)
    run_id = str(flow_run.get_id() or "local")
    started = time.perf_counter()
    timings: dict[str, float] = {}
    outcome: dict[str, str] = {}
    with mlflow.start_run(run_name=f"retrain {flow_run.get_name() or ''}".strip(),
                          experiment_id=experiment_id) as parent:
        set_tags_safe({"flow_run_id": run_id, "git_commit": head_commit(root), "data_md5": data_md5(root)})
        mlflow.log_artifact(str(root / "params.yaml"))
        env = {"MLFLOW_TRACKING_URI": tracking_uri(root), "MLFLOW_EXPERIMENT_ID": experiment_id,
               PARENT_RUN_ENV: parent.info.run_id}
        for stage in pipeline_stages(root):
            t0 = time.perf_counter()
            outcome[stage] = stage_task(stage)(root, stage, env, force)
            timings[stage] = time.perf_counter() - t0
            mlflow.log_metric(mlflow_name(f"seconds_{stage.replace('@', '_')}"), timings[stage])
        metrics = json.loads((root / "artifacts" / "evaluate" / "metrics.json").read_text())
        summary: dict[str, Any] = {"stages": outcome, "stage_seconds": timings,
                                   "parent_run_id": parent.info.run_id, "flow_run_id": run_id,
                                   "metrics": metrics}
        if register_models:
            summary["registry"] = register_and_gate(root, env, run_id)
        summary["total_seconds"] = time.perf_counter() - started
        mlflow.log_metric("seconds_total", summary["total_seconds"])
    logger.info("retrain finished in %.1f s: %s", summary["total_seconds"], outcome)
    return summary


if __name__ == "__main__":
    print(json.dumps(retrain(), indent=2, default=str))
