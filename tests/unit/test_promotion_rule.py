"""The gate's rule: with a champion, only a paired GAP interval above the margin (and no FPR rise) promotes."""

from __future__ import annotations

from landmark.evaluation.bootstrap import PairedGap
from landmark.params import PromotionParams
from landmark.registry.promotion import decide

STRICT = PromotionParams(gap_margin=0.0, confidence=0.95, bootstrap_samples=1000, max_fpr_rise=0.0, seed=0)
CHAMPION = {"gap": 0.90, "fpr_at_threshold": 0.01}


def _paired(delta: float, low: float, high: float) -> PairedGap:
    return PairedGap(0.90 + delta, 0.90, delta, low, high, 0.95, 1000, 500)


def test_no_champion_promotes() -> None:
    assert decide({"gap": 0.1, "fpr_at_threshold": 0.5}, None, STRICT).promote


def test_interval_above_the_margin_and_equal_fpr_promotes() -> None:
    d = decide({"gap": 0.95, "fpr_at_threshold": 0.01}, CHAMPION, STRICT, _paired(0.05, 0.01, 0.09))
    assert d.promote and len(d.reasons) == 2 and "interval [+0.0100, +0.0900]" in d.reasons[0]


def test_a_better_point_gap_inside_the_noise_does_not_promote() -> None:
    d = decide({"gap": 0.95, "fpr_at_threshold": 0.01}, CHAMPION, STRICT, _paired(0.05, -0.02, 0.12))
    assert not d.promote and "not above the margin 0.0" in d.reasons[0]


def test_the_margin_applies() -> None:
    margin = PromotionParams(gap_margin=0.02, confidence=0.95, bootstrap_samples=1000, max_fpr_rise=0.0, seed=0)
    assert not decide({"gap": 0.95, "fpr_at_threshold": 0.01}, CHAMPION, margin, _paired(0.05, 0.01, 0.09)).promote
    assert decide({"gap": 0.95, "fpr_at_threshold": 0.01}, CHAMPION, margin, _paired(0.05, 0.03, 0.09)).promote


def test_higher_fpr_rejects_even_with_a_sure_gain() -> None:
    d = decide({"gap": 0.99, "fpr_at_threshold": 0.02}, CHAMPION, STRICT, _paired(0.09, 0.05, 0.12))
    assert not d.promote and "FPR" in d.reasons[1]


def test_without_a_paired_comparison_a_champion_is_kept() -> None:
    d = decide({"gap": 0.99, "fpr_at_threshold": 0.0}, CHAMPION, STRICT)
    assert not d.promote and "no paired evaluation" in d.reasons[0]


def test_unevaluated_challenger_is_never_promoted() -> None:
    d = decide({"gap": 0.99}, None, STRICT)
    assert not d.promote and "not evaluated" in d.reasons[0]
