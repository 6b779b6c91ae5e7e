"""MLflow runs for stages: nested under the flow's run when the flow passes its id in the environment.

The retrain flow sets MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_ID and LANDMARK_PARENT_RUN_ID for the DVC
stages it starts; a stage run by hand (`dvc repro`) logs a top-level run to the project's store.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow

from landmark.env import apply_offline_env, repo_root, tracking_uri
from landmark.registry.mlflow_names import mlflow_names

PARENT_RUN_ENV = "LANDMARK_PARENT_RUN_ID"
DISABLE_ENV = "LANDMARK_NO_MLFLOW"
EXPERIMENT_NAME = "landmark"
log = logging.getLogger(__name__)


def ensure_experiment(root: Path | None = None, name: str = EXPERIMENT_NAME) -> str:
    """Create (once) the project's experiment and return its id. With the local sqlite store its
    artifacts go under mlflow/artifacts; with a tracking server (http) the server's artifact store
    holds them (e.g. the team services' object store) and nothing is written locally."""
    root = root or repo_root()
    uri = tracking_uri(root)
    remote = uri.startswith(("http://", "https://"))
    if not remote:
        (root / "mlflow").mkdir(exist_ok=True)
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    if remote:
        return mlflow.create_experiment(name)
    artifacts = (root / "mlflow" / "artifacts").resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    return mlflow.create_experiment(name, artifact_location=artifacts.as_uri())


def _experiment_exists(experiment_id: str) -> bool:
    try:
        return mlflow.get_experiment(experiment_id) is not None
    except mlflow.exceptions.MlflowException:
        return False


@contextmanager
def stage_run(stage: str, params: dict[str, Any] | None = None) -> Iterator[mlflow.ActiveRun | None]:
    """An MLflow run for one stage; yields None (logs nothing) when LANDMARK_NO_MLFLOW=1."""
    if os.environ.get(DISABLE_ENV) == "1":
        yield None
        return
    apply_offline_env()
    mlflow.set_tracking_uri(tracking_uri())
    experiment_id = os.environ.get("MLFLOW_EXPERIMENT_ID")
    if not experiment_id or not _experiment_exists(experiment_id):  # e.g. left over from another store
        experiment_id = ensure_experiment()
    parent = os.environ.get(PARENT_RUN_ENV)
    with mlflow.start_run(run_name=stage, experiment_id=experiment_id, parent_run_id=parent) as run:
        mlflow.set_tag("stage", stage)
        if params:
            log_params_safe(params)
        yield run


def log_metrics_safe(metrics: Mapping[str, object], step: int | None = None) -> None:
    """Log the numeric values of `metrics` to the active run, if any, keys made MLflow-safe.

    Keys may come from data (e.g. `modes.I;16`): each goes through `mlflow_names`; non-numeric values are
    skipped.
    """
    if mlflow.active_run() is None:
        return
    numeric = {str(k): float(v) for k, v in metrics.items() if isinstance(v, int | float)}
    mlflow.log_metrics(mlflow_names(numeric), step=step)


def log_params_safe(params: Mapping[str, object]) -> None:
    """Log params (values as strings, at most 500 characters) to the active run, keys made MLflow-safe."""
    if mlflow.active_run() is None:
        return
    mlflow.log_params(mlflow_names({str(k): str(v)[:500] for k, v in params.items()}))


def set_tags_safe(tags: Mapping[str, object]) -> None:
    """Set tags (values as strings) on the active run, if any, keys made MLflow-safe."""
    if mlflow.active_run() is None:
        return
    mlflow.set_tags(mlflow_names({str(k): str(v) for k, v in tags.items()}))


def log_artifact_safe(path: Path, artifact_path: str | None = None) -> None:
    """Log a file to the active run, if any."""
    if mlflow.active_run() is not None and Path(path).exists():
        mlflow.log_artifact(str(path), artifact_path=artifact_path)
