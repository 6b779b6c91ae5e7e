"""Paired bootstrap of the GAP difference: hand-made answers of two recognizers on the same queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from landmark.evaluation.bootstrap import paired_gap, paired_gap_from_files


def _world(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n queries: half show landmark 'a'..'e', half none; a recognizer right on 70% of the landmark photos."""
    rng = np.random.default_rng(seed)
    truth = np.array([str(rng.choice(list("abcde"))) if i % 2 else None for i in range(n)], dtype=object)
    predicted = np.array([t if (t is not None and rng.random() < 0.7) else "x" for t in truth], dtype=object)
    return truth, predicted, rng.random(n)


def test_the_same_answers_differ_by_exactly_zero() -> None:
    truth, predicted, score = _world(200, 0)
    result = paired_gap(truth, (predicted, score), (predicted, score), samples=200)
    assert (result.delta, result.low, result.high) == (0.0, 0.0, 0.0)


def test_a_clearly_better_recognizer_has_an_interval_above_zero() -> None:
    truth, predicted, score = _world(400, 1)
    better = np.where([t is not None for t in truth], truth, predicted).astype(object)  # right on every landmark
    result = paired_gap(truth, (better, score), (predicted, score), samples=300)
    assert result.delta > 0.1 and result.low > 0.0 and result.low <= result.delta <= result.high


def test_two_equally_good_recognizers_have_an_interval_around_zero() -> None:
    truth, first, score = _world(400, 2)
    rng = np.random.default_rng(7)
    second = np.array([t if (t is not None and rng.random() < 0.7) else "x" for t in truth], dtype=object)
    result = paired_gap(truth, (first, score), (second, score), samples=300)
    assert result.low < 0.0 < result.high


def test_files_are_matched_by_image_id(tmp_path: Path) -> None:
    rows = {"image_id": ["q1", "q2", "q3"], "truth": ["a", "", "b"]}
    pd.DataFrame({**rows, "predicted": ["a", "a", "b"], "similarity": [0.9, 0.8, 0.7]}).to_csv(tmp_path / "new.csv")
    champion = pd.DataFrame({**rows, "predicted": ["a", "a", "c"], "similarity": [0.9, 0.8, 0.7]})
    champion.iloc[::-1].to_csv(tmp_path / "old.csv")  # another order
    result = paired_gap_from_files(tmp_path / "new.csv", tmp_path / "old.csv", 50, 0.95, 0)
    # by hand: new ranks a(ok), a(wrong), b(ok): (1 + 2/3) / 2; old: a(ok), a(wrong), c(wrong): 1 / 2
    assert result.challenger_gap == pytest.approx((1 + 2 / 3) / 2) and result.champion_gap == pytest.approx(0.5)
    champion.assign(image_id=["q1", "q2", "q9"]).to_csv(tmp_path / "other.csv")
    with pytest.raises(ValueError, match="different collections"):
        paired_gap_from_files(tmp_path / "new.csv", tmp_path / "other.csv", 50, 0.95, 0)
