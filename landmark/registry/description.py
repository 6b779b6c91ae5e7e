"""The description of a registered model version, as the MLflow UI shows it (markdown): the metrics
of the recognizer and of its baselines on the evaluation collection, the data version, the params
digest and the promotion gate's decision.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

from mlflow import MlflowClient

from landmark.registry.lineage import Lineage
from landmark.registry.promotion import GateDecision

log = logging.getLogger(__name__)
MAIN_SYSTEM = "recognizer"
METRIC_COLUMNS = (
    ("gap", "GAP"),
    ("sensitivity_at_fpr_1pct", "sensitivity @ FPR 1%"),
    ("sensitivity_at_fpr_0_1pct", "sensitivity @ FPR 0.1%"),
    ("accuracy_at_1", "accuracy@1"),
    ("fpr_at_threshold", "FPR at threshold"),
)


def metrics_by_system(metrics: Mapping[str, object]) -> dict[str, dict[str, float]]:
    """Split evaluate's flat metrics ('gap', 'baseline_frozen.gap', ...) per system; the bare keys
    belong to the recognizer, which comes first."""
    out: dict[str, dict[str, float]] = {MAIN_SYSTEM: {}}
    for key, value in metrics.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        system, _, name = key.rpartition(".")
        out.setdefault(system or MAIN_SYSTEM, {})[name] = float(value)
    return out


def _cell(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.4f}"


def metrics_markdown(metrics: Mapping[str, object]) -> str:
    """A markdown table: one row per system (the recognizer, then its baselines), the gate's metrics
    as columns."""
    systems = metrics_by_system(metrics)
    lines = ["| system | " + " | ".join(label for _, label in METRIC_COLUMNS) + " |",
             "| --- |" + " ---: |" * len(METRIC_COLUMNS)]
    for system, values in systems.items():
        name = f"**{system}**" if system == MAIN_SYSTEM else system
        lines.append(f"| {name} | " + " | ".join(_cell(values.get(k)) for k, _ in METRIC_COLUMNS) + " |")
    return "\n".join(lines)


def gate_markdown(decision: GateDecision | None) -> str:
    """The gate's decision as a short markdown section body."""
    if decision is None:
        return "not gated"
    verdict = "**promoted to champion**" if decision.promote else "**kept as challenger** (not promoted)"
    against = f"compared with champion v{decision.champion_version}" if decision.champion_version else \
        "no champion to compare with"
    return f"{verdict}, {against}:\n\n" + "\n".join(f"- {reason}" for reason in decision.reasons)


def version_description(metrics: Mapping[str, object], lineage: Lineage, decision: GateDecision | None,
                        role: str = "recognizer", related: str = "") -> str:
    """The markdown description of one registered version. `role`: what the version holds
    ('recognizer' or 'index'); `related`: a line naming its companion version (e.g. 'index: v3')."""
    lines = [
        f"Landmark {role} trained by the retrain flow"
        + (f" (flow run `{lineage.flow_run_id}`)" if lineage.flow_run_id else "") + ".",
        "",
        "### Evaluation (emulated user collection)",
        "",
        metrics_markdown(metrics),
        "",
        "### Promotion gate",
        "",
        gate_markdown(decision),
        "",
        "### Lineage",
        "",
        f"- data version (data.dvc md5): `{lineage.data_md5}`",
        f"- code (git commit): `{lineage.git_commit}`",
        f"- params digest: `{lineage.params_hash}`",
        f"- weights sha256 (first 20): `{lineage.model_sha256}`",
    ]
    if related:
        lines.append(f"- {related}")
    return "\n".join(lines) + "\n"


def describe_version(client: MlflowClient, name: str, version: str, description: str) -> None:
    """Set the version's description (what the MLflow UI shows on the version's page)."""
    client.update_model_version(name, version, description=description)
    log.info("described %s v%s (%d characters)", name, version, len(description))


def describe_pair(client: MlflowClient, recognizer: tuple[str, str], index: tuple[str, str],
                  metrics: Mapping[str, object], lineage: Lineage, decision: GateDecision | None) -> None:
    """Describe a recognizer version and its index version, (name, version) each, from one evaluation."""
    (rec_name, rec_version), (index_name, index_version) = recognizer, index
    describe_version(client, rec_name, rec_version, version_description(
        metrics, lineage, decision, "recognizer", f"index: {index_name} v{index_version}"))
    describe_version(client, index_name, index_version,
                     version_description(metrics, lineage, decision, "index (faiss centroids + threshold)",
                                         f"recognizer: {rec_name} v{rec_version}"))
