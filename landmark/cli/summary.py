"""The short summary `make run` ends with: metrics, registered versions, champion, UI commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# keys of the evaluate stage's metrics.json (landmark.evaluation.run.flat_metrics + metrics.passed_by_role); a
# key it does not write would drop its row silently, so tests/unit/test_run_summary.py evaluates a tiny world
# and checks them all. The pooled FPR hides how often unknown landmarks pass: both kinds are shown.
SUMMARY_METRICS = ("gap", "sensitivity_at_fpr_1pct", "sensitivity_at_fpr_0_1pct", "fpr_at_threshold",
                   "unknown_passed_at_threshold", "non_landmark_passed_at_threshold",
                   "accuracy_at_1", "baseline_frozen.gap", "baseline_single_centroid.gap",
                   "baseline_nearest_photo.gap")


def ui_commands(root: Path) -> list[str]:
    """Shell commands that open the MLflow and Prefect UIs on 127.0.0.1, or the servers' addresses when
    MLFLOW_TRACKING_URI / PREFECT_API_URL point at running ones (the team services)."""
    store = root / "mlflow"
    tracking = os.environ.get("MLFLOW_TRACKING_URI", "")
    prefect_api = os.environ.get("PREFECT_API_URL", "")
    return [
        f"MLflow UI:  open {tracking}" if tracking.startswith(("http://", "https://")) else
        f"MLflow UI:  .venv/bin/mlflow ui --backend-store-uri sqlite:///{store}/mlflow.db "
        f"--default-artifact-root {store}/artifacts --host 127.0.0.1 --port 5000 --workers 1",
        f"Prefect UI: open {prefect_api.removesuffix('/').removesuffix('/api')}" if prefect_api else
        f"Prefect UI: PREFECT_HOME={root}/.prefect .venv/bin/prefect server start --host 127.0.0.1 --port 4200",
    ]


def print_summary(summary: dict[str, Any], root: Path) -> None:
    """Print the run's stages, metrics, registry outcome and the UI commands."""
    console = Console()
    stages = Table("stage", "outcome", "seconds", title="retrain")
    for stage, outcome in summary.get("stages", {}).items():
        stages.add_row(stage, outcome, f"{summary.get('stage_seconds', {}).get(stage, 0.0):.1f}")
    console.print(stages)
    metrics = summary.get("metrics", {})
    table = Table("metric", "value", title="evaluation (emulated user collection)")
    for key in SUMMARY_METRICS:
        if key in metrics:
            table.add_row(key, f"{metrics[key]:.4f}")
    console.print(table)
    registry = summary.get("registry")
    if registry:
        console.print(f"registered: landmark-recognizer v{registry['recognizer_version']}, "
                      f"landmark-index v{registry['index_version']}"
                      f"{'' if registry.get('registered', True) else ' (same lineage as before: not re-registered)'}")
        verdict = "promoted to champion" if registry["promoted"] else "kept as challenger"
        console.print(f"gate: {verdict} — {'; '.join(registry['reasons'])}")
    console.print(f"total {summary.get('total_seconds', 0.0):.1f} s; MLflow parent run {summary.get('parent_run_id')}")
    for line in ui_commands(root):
        console.print(line)
