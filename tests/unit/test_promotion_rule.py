from __future__ import annotations

from landmark.params import PromotionParams
from landmark.registry.promotion import decide

STRICT = PromotionParams(max_gap_drop=0.0, max_fpr_rise=0.0)


def test_no_champion_promotes() -> None:
    assert decide({"gap": 0.1, "fpr_at_threshold": 0.5}, None, STRICT).promote


def test_better_gap_and_equal_fpr_promotes() -> None:
    d = decide({"gap": 0.91, "fpr_at_threshold": 0.01}, {"gap": 0.90, "fpr_at_threshold": 0.01}, STRICT)
    assert d.promote and len(d.reasons) == 2


def test_lower_gap_rejects() -> None:
    d = decide({"gap": 0.89, "fpr_at_threshold": 0.0}, {"gap": 0.90, "fpr_at_threshold": 0.01}, STRICT)
    assert not d.promote and "GAP 0.8900 < champion 0.9000" in d.reasons[0]


def test_higher_fpr_rejects_even_with_better_gap() -> None:
    d = decide({"gap": 0.99, "fpr_at_threshold": 0.02}, {"gap": 0.90, "fpr_at_threshold": 0.01}, STRICT)
    assert not d.promote and "FPR" in d.reasons[1]


def test_tolerances_apply() -> None:
    loose = PromotionParams(max_gap_drop=0.02, max_fpr_rise=0.005)
    assert decide({"gap": 0.89, "fpr_at_threshold": 0.014}, {"gap": 0.90, "fpr_at_threshold": 0.01}, loose).promote


def test_unevaluated_challenger_is_never_promoted() -> None:
    d = decide({"gap": 0.99}, None, STRICT)
    assert not d.promote and "not evaluated" in d.reasons[0]
