"""The promotion gate of the MLflow registry: a new version is `challenger`; it becomes `champion`
only if it beats the current champion on the same evaluation collection, by more than the noise of
that collection: the lower end of the paired-bootstrap interval of the GAP difference must be above
`promotion.gap_margin` (`landmark.evaluation.bootstrap`), and its FPR at its threshold must not rise by
more than `promotion.max_fpr_rise`. Aliases, not stages.

Decisions, reasons and the interval are written as tags on the challenger version (`gate.*`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from landmark.evaluation.bootstrap import PairedGap
from landmark.params import PromotionParams

log = logging.getLogger(__name__)
CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous_champion"
GATE_METRICS = ("gap", "fpr_at_threshold")


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: tuple[str, ...]
    champion_version: str | None = None
    challenger: dict[str, float] = field(default_factory=dict)
    champion: dict[str, float] = field(default_factory=dict)
    paired: PairedGap | None = None


def decide(challenger: dict[str, float], champion: dict[str, float] | None, rule: PromotionParams,
           paired: PairedGap | None = None) -> GateDecision:
    """The gate's rule, pure. With no champion the challenger wins. Else it wins when `paired` (its GAP
    against the champion's on the same queries) has the lower end of its interval above
    `rule.gap_margin` and its FPR at the stored threshold is not higher by more than `max_fpr_rise`;
    without a paired comparison it does not win (nothing shows it is better)."""
    missing = [m for m in GATE_METRICS if m not in challenger]
    if missing:
        return GateDecision(False, (f"challenger lacks metric(s) {missing}: not evaluated",), None, challenger)
    if champion is None:
        return GateDecision(True, ("no champion yet",), None, challenger)
    if paired is None:
        return GateDecision(False, ("no paired evaluation against the champion on this collection",), None,
                            challenger, champion)
    reasons = []
    ok = paired.low > rule.gap_margin
    reasons.append(f"{paired.describe()}: {'above' if ok else 'not above'} the margin {rule.gap_margin}")
    champion_fpr = champion.get("fpr_at_threshold", float("inf"))
    if challenger["fpr_at_threshold"] - champion_fpr > rule.max_fpr_rise:
        ok = False
        reasons.append(f"FPR {challenger['fpr_at_threshold']:.4f} > champion {champion_fpr:.4f} + {rule.max_fpr_rise}")
    else:
        reasons.append(f"FPR {challenger['fpr_at_threshold']:.4f} vs champion {champion_fpr:.4f}: ok")
    return GateDecision(ok, tuple(reasons), None, challenger, champion, paired)


def metrics_of(client: MlflowClient, name: str, version: str) -> dict[str, float]:
    """The gate metrics recorded on a version as `metric.<name>` tags."""
    tags = client.get_model_version(name, version).tags
    return {k.removeprefix("metric."): float(v) for k, v in tags.items() if k.startswith("metric.")}


def champion_version(client: MlflowClient, name: str) -> str | None:
    """The version the `champion` alias points to, or None."""
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def _move_champion(client: MlflowClient, name: str, version: str) -> None:
    old = champion_version(client, name)
    if old is not None and old != version:
        client.set_registered_model_alias(name, PREVIOUS, old)
    client.set_registered_model_alias(name, CHAMPION, version)


def refuse_half_pair(client: MlflowClient, name: str, version: str) -> None:
    """Raise MlflowException when `version` is half of a recognizer/index pair whose other half was
    never registered (pair.status=incomplete): such a version is never promoted."""
    from landmark.registry.pair import INCOMPLETE, PAIR_TAG

    if client.get_model_version(name, version).tags.get(PAIR_TAG) == INCOMPLETE:
        raise MlflowException(
            f"{name} v{version} cannot be promoted: {PAIR_TAG}={INCOMPLETE} (its recognizer/index partner "
            "was never registered, e.g. the MLflow server went down in between); rerun the retrain to "
            "complete the pair"
        )


def gate(client: MlflowClient, name: str, version: str, rule: PromotionParams,
         champion_metrics: dict[str, float] | None = None, paired: PairedGap | None = None,
         collection: str = "") -> GateDecision:
    """Mark `version` challenger, compare it with the champion and promote it if it wins (`decide`).

    `champion_metrics`: the champion's metrics on the challenger's evaluation collection (the caller
    re-evaluated it); by default the metrics recorded on the champion version. `paired`: the paired
    GAP comparison on that collection; `collection`: what it was (recorded). Raises MlflowException
    for half of an incomplete pair (refuse_half_pair).
    """
    refuse_half_pair(client, name, version)
    client.set_registered_model_alias(name, CHALLENGER, version)
    current = champion_version(client, name)
    if current == version:
        return GateDecision(True, ("already champion",), current, metrics_of(client, name, version))
    baseline = None
    if current is not None:
        baseline = champion_metrics if champion_metrics is not None else metrics_of(client, name, current)
    decision = decide(metrics_of(client, name, version), baseline, rule, paired)
    decision = GateDecision(decision.promote, decision.reasons, current, decision.challenger, decision.champion,
                            decision.paired)
    client.set_model_version_tag(name, version, "gate.status", "passed" if decision.promote else "rejected")
    client.set_model_version_tag(name, version, "gate.reasons", "; ".join(decision.reasons))
    client.set_model_version_tag(name, version, "gate.compared_with", current or "none")
    if collection:
        client.set_model_version_tag(name, version, "gate.collection", collection)
    if decision.paired is not None:
        p = decision.paired
        recorded = {"gap_delta": p.delta, "gap_delta_ci_low": p.low, "gap_delta_ci_high": p.high,
                    "gap_ci_level": p.level, "bootstrap_samples": p.samples, "champion_gap": p.champion_gap}
        for key, value in recorded.items():
            client.set_model_version_tag(name, version, f"gate.{key}", f"{value:.6g}")
    if decision.promote:
        _move_champion(client, name, version)
    log.info("gate %s v%s: %s (%s)", name, version, "promoted" if decision.promote else "rejected",
             "; ".join(decision.reasons))
    return decision


def force_promote(client: MlflowClient, name: str, version: str, reason: str) -> None:
    """Make `version` champion by hand; recorded as such on the version. Half of an incomplete
    recognizer/index pair is refused (MlflowException)."""
    refuse_half_pair(client, name, version)  # also raises a clear MlflowException when absent
    client.set_model_version_tag(name, version, "gate.status", "forced")
    client.set_model_version_tag(name, version, "gate.reasons", f"promoted by hand: {reason}")
    _move_champion(client, name, version)


def rollback_champion(client: MlflowClient, name: str) -> str:
    """Move `champion` back to `previous_champion`; returns the version now champion."""
    try:
        previous = str(client.get_model_version_by_alias(name, PREVIOUS).version)
    except MlflowException as exc:
        raise LookupError(f"{name} has no previous champion to roll back to") from exc
    current = champion_version(client, name)
    client.set_registered_model_alias(name, CHAMPION, previous)
    if current is not None:
        client.set_registered_model_alias(name, PREVIOUS, current)
        client.set_model_version_tag(name, current, "gate.status", "rolled_back")
    return previous
