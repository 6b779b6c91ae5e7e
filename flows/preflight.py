"""Checks before a flow starts work: a clear error beats a hang or a half-run pipeline."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path


class PreflightError(RuntimeError):
    """The project or a service the flow needs is not ready; the message says what to do."""


def check_project(root: Path) -> None:
    """params.yaml, dvc.yaml and the data must be there."""
    for name in ("params.yaml", "dvc.yaml"):
        if not (root / name).is_file():
            raise PreflightError(f"{root / name} not found: run from the project root")
    check_final_model(root)
    if not (root / "data" / "manifest.csv").is_file():
        raise PreflightError(f"{root / 'data' / 'manifest.csv'} not found: run `landmark setup`, then "
                             "`landmark data import ...` or `python -m samples` (the sample world) first")


def check_final_model(root: Path) -> None:
    """dvc.yaml's `final_model` (what index and evaluate depend on) must be the last curriculum stage's
    network of params.yaml's train.stages."""
    import yaml

    from landmark.layout import final_model
    from landmark.params import load_params

    stages = load_params(root / "params.yaml").train.stages
    declared = next((v["final_model"] for v in yaml.safe_load((root / "dvc.yaml").read_text()).get("vars", [])
                     if isinstance(v, dict) and "final_model" in v), None)
    if declared is None or Path(declared) != final_model(len(stages)):
        raise PreflightError(f"{root / 'dvc.yaml'}: vars final_model is {declared!r} but train.stages has "
                             f"{len(stages)} stages: set it to {final_model(len(stages))}")


def check_health(name: str, url: str, remedy: str, timeout_s: float = 5.0) -> None:
    """`url`/health must answer 200 within `timeout_s`; otherwise PreflightError says what to start."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout_s) as response:
            status = response.status
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PreflightError(f"{name} at {url} is not reachable ({exc}); {remedy}") from exc
    if status != 200:
        raise PreflightError(f"{name} at {url} answered {status} on /health; {remedy}")


def check_mlflow(uri: str, timeout_s: float = 5.0) -> None:
    """An http(s) tracking server must answer; a sqlite store's folder must exist."""
    if uri.startswith(("http://", "https://")):
        check_health("MLflow server", uri, "start it with `mlflow/server.sh` or unset MLFLOW_TRACKING_URI "
                     "to use the local sqlite store", timeout_s)
    elif uri.startswith("sqlite:///"):
        folder = Path(uri.removeprefix("sqlite:///")).parent
        if not folder.is_dir():
            raise PreflightError(f"MLflow store folder {folder} does not exist")


def check_prefect(timeout_s: float = 5.0) -> None:
    """When PREFECT_API_URL names a server, it must answer (otherwise Prefect would retry for
    minutes). Without it, flows use an ephemeral local server."""
    url = os.environ.get("PREFECT_API_URL", "")
    if url:
        check_health("Prefect server", url, "start it with `prefect server start --host 127.0.0.1` or unset "
                     "PREFECT_API_URL to run with a temporary local server", timeout_s)
