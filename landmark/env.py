"""Process environment for offline, quiet runs (STACK.md). Nothing happens on import."""

from __future__ import annotations

import os
from pathlib import Path

OFFLINE_ENV: dict[str, str] = {
    "DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_OFFLINE": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "TOKENIZERS_PARALLELISM": "false",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def repo_root(start: Path | None = None) -> Path:
    """The project root: the nearest folder above `start` (default: cwd) holding params.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "params.yaml").is_file():
            return folder
    return here


def tracking_uri(root: Path | None = None) -> str:
    """The project's MLflow store: MLFLOW_TRACKING_URI when set, else sqlite in <root>/mlflow/."""
    root = root or repo_root()
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"


def apply_offline_env(root: Path | None = None) -> dict[str, str]:
    """Set the offline / no-telemetry variables (without overriding explicit ones) and a project-local
    PREFECT_HOME; returns what was set. Call it from entry points, never at import time."""
    root = root or repo_root()
    wanted = dict(OFFLINE_ENV)
    wanted["PREFECT_HOME"] = str(root / ".prefect")
    wanted.setdefault("MLFLOW_TRACKING_URI", tracking_uri(root))
    applied = {}
    for key, value in wanted.items():
        if key not in os.environ:
            os.environ[key] = value
            applied[key] = value
    return applied


THREADS_ENV = "LANDMARK_THREADS"


def compute_threads() -> int:
    """CPU threads for torch and the runtimes: LANDMARK_THREADS when set, else the cores this process
    may run on (its affinity, which containers and `taskset` narrow), at least 1."""
    wanted = os.environ.get(THREADS_ENV, "").strip()
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise ValueError(f"{THREADS_ENV} must be a positive integer, got {wanted!r}")
        return int(wanted)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)



def threads_per_process(processes: int) -> int:
    """compute_threads() shared by `processes` processes on this machine (Dask workers, DDP ranks):
    cores // processes, at least 1."""
    return max(1, compute_threads() // max(1, processes))
