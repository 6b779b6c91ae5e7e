"""research.paired_sensitivity: the bootstrap interval of a sensitivity-at-FPR difference, on hand-made answers."""

from __future__ import annotations

import numpy as np
import pytest

from landmark.evaluation.metrics import QueryResults, sensitivity_at_fpr
from research.paired_sensitivity import paired_sensitivity


def _answers(known_scores: np.ndarray, reject_scores: np.ndarray, right: np.ndarray) -> QueryResults:
    """Known queries of landmark 'a' (answered 'a' where `right`, else 'b'), then must-reject photos."""
    truth = np.array(["a"] * len(known_scores) + [None] * len(reject_scores), dtype=object)
    predicted = np.array([("a" if r else "b") for r in right] + ["a"] * len(reject_scores), dtype=object)
    score = np.concatenate([known_scores, reject_scores]).astype(np.float64)
    return QueryResults(truth, predicted, score, score)


def test_the_difference_is_what_sensitivity_at_fpr_gives_and_an_inf_score_counts_as_no_candidate() -> None:
    rng = np.random.default_rng(0)
    known, rejects, right = rng.random(100), rng.random(500), rng.random(100) < 0.8
    a = _answers(known + 0.2, rejects, right)
    b_known = known.copy()
    b_known[:5] = -np.inf
    b = _answers(b_known, rejects, right)
    for fpr in (0.01, 0.001):
        result = paired_sensitivity(a, b, fpr, samples=50)
        plain_b = _answers(np.where(np.isfinite(b_known), b_known, -1.0), rejects, right)
        assert result.delta == pytest.approx(sensitivity_at_fpr(a, fpr)[0] - sensitivity_at_fpr(plain_b, fpr)[0])
        assert result.low <= result.delta <= result.high


def test_identical_systems_differ_by_exactly_zero() -> None:
    rng = np.random.default_rng(1)
    a = _answers(rng.random(80), rng.random(400), rng.random(80) < 0.9)
    result = paired_sensitivity(a, a, 0.01, samples=100)
    assert (result.delta, result.low, result.high) == (0.0, 0.0, 0.0)


def test_a_clearly_better_system_has_an_interval_above_zero_and_a_coin_flip_one_around_zero() -> None:
    rng = np.random.default_rng(2)
    known, rejects, right = rng.normal(0.6, 0.1, 200), rng.normal(0.3, 0.1, 1000), np.ones(200, dtype=bool)
    better = paired_sensitivity(_answers(known + 0.15, rejects, right), _answers(known, rejects, right), 0.01)
    assert better.delta > 0.1 and better.low > 0.0
    # the same scores, one hardest must-reject photo moved above or below the known queries: at FPR 0.1%
    # of 1,000 photos the threshold is set by exactly that photo
    lucky, unlucky = rejects.copy(), rejects.copy()
    order = np.argsort(-rejects)
    lucky[order[:2]], unlucky[order[:2]] = 0.0, [0.75, 0.74]
    chance = paired_sensitivity(_answers(known, lucky, right), _answers(known, unlucky, right), 0.001)
    assert chance.delta > 0.0 and chance.low <= 0.0 <= chance.high


def test_different_queries_are_refused() -> None:
    a = _answers(np.ones(3), np.zeros(3), np.ones(3, dtype=bool))
    b = _answers(np.ones(2), np.zeros(4), np.ones(2, dtype=bool))
    with pytest.raises(ValueError, match="same queries"):
        paired_sensitivity(a, b, 0.01)
