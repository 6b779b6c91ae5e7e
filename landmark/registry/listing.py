"""What `landmark model list` shows: one typed row per registered model version.

The aliases come from the registered model (`get_registered_model(name).aliases`, alias -> version):
the version search returns every version's `aliases` empty. The gate's decision, its reason and the
metrics are the tags `landmark.registry.promotion` and `landmark.registry.register` write on a version.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from mlflow import MlflowClient

log = logging.getLogger(__name__)

# Where a GAP interval may be recorded, first match wins: (low tag, high tag, what it bounds).
GAP_INTERVAL_TAGS = (
    ("gate.gap_ci_low", "gate.gap_ci_high", "gap"),
    ("metric.gap_ci_low", "metric.gap_ci_high", "gap"),
    ("gate.gap_delta_ci_low", "gate.gap_delta_ci_high", "gap - champion gap"),
    ("gate.gap_diff_ci_low", "gate.gap_diff_ci_high", "gap - champion gap"),
)


@dataclass(frozen=True)
class GapInterval:
    """A confidence interval recorded by the gate: `of` is what it bounds (the GAP, or its difference
    with the champion's on the same collection)."""

    low: float
    high: float
    of: str = "gap"


@dataclass(frozen=True)
class VersionRow:
    """One registered version as an operator reads it. `created` is ISO 8601 in UTC."""

    model: str
    version: str
    aliases: tuple[str, ...]
    created: str
    gate_status: str
    gate_reason: str
    compared_with: str
    gap: float | None
    gap_interval: GapInterval | None
    fpr_at_threshold: float | None
    data_md5: str
    git_commit: str
    gate_tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: aliases as a list, the interval as {'low', 'high', 'of'} or None."""
        out = asdict(self)
        out["aliases"] = list(self.aliases)
        return out


def readable_time(millis: int | None) -> str:
    """Epoch milliseconds (MLflow's timestamps) -> '2026-11-30T01:52:37Z'; '' when unknown."""
    if not millis:
        return ""
    return datetime.fromtimestamp(millis / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def gap_interval(tags: dict[str, str]) -> GapInterval | None:
    """The GAP interval the gate recorded on a version (see GAP_INTERVAL_TAGS), or None."""
    for low_tag, high_tag, of in GAP_INTERVAL_TAGS:
        low, high = _float(tags.get(low_tag)), _float(tags.get(high_tag))
        if low is not None and high is not None:
            return GapInterval(low, high, of)
    return None


def aliases_by_version(client: MlflowClient, name: str) -> dict[str, tuple[str, ...]]:
    """version -> its aliases (sorted), read from the registered model."""
    out: dict[str, list[str]] = {}
    for alias, version in (client.get_registered_model(name).aliases or {}).items():
        out.setdefault(str(version), []).append(alias)
    return {version: tuple(sorted(aliases)) for version, aliases in out.items()}


def list_versions(client: MlflowClient, names: list[str] | None = None) -> list[VersionRow]:
    """Every version of the registered models `names` (default: all), by model name then version."""
    if names is None:
        names = sorted(m.name for m in client.search_registered_models())
    rows = []
    for name in names:
        aliases = aliases_by_version(client, name)
        versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
        for v in versions:
            tags = dict(v.tags or {})
            rows.append(VersionRow(
                model=name,
                version=str(v.version),
                aliases=aliases.get(str(v.version), ()),
                created=readable_time(v.creation_timestamp),
                gate_status=tags.get("gate.status", ""),
                gate_reason=tags.get("gate.reasons", ""),
                compared_with=tags.get("gate.compared_with", ""),
                gap=_float(tags.get("metric.gap")),
                gap_interval=gap_interval(tags),
                fpr_at_threshold=_float(tags.get("metric.fpr_at_threshold")),
                data_md5=tags.get("lineage.data_md5", ""),
                git_commit=tags.get("lineage.git_commit", ""),
                gate_tags={k: val for k, val in sorted(tags.items()) if k.startswith("gate.")},
            ))
    log.debug("listed %d versions of %d models", len(rows), len(names))
    return rows
