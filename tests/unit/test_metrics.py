"""Metrics computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from landmark.evaluation.metrics import (
    QueryResults,
    gap,
    passed_by_role,
    per_landmark,
    precision_recall_curve,
    sensitivity_at_fpr,
    sensitivity_fpr_curve,
    summarize,
)


def test_gap_by_hand() -> None:
    # ranks: A ok (P=1), non-landmark B (P=1/2), B ok (P=2/3), C wrong -> (1 + 2/3) / 3
    truth = ["A", None, "B", "C"]
    predicted = ["A", "B", "B", "A"]
    confidence = [0.9, 0.8, 0.7, 0.1]
    assert gap(truth, predicted, confidence) == pytest.approx(5 / 9)
    # a confident non-landmark answer first lowers GAP: 1/2 + 2/3 over 3
    assert gap(truth, predicted, [0.8, 0.95, 0.7, 0.1]) == pytest.approx((1 / 2 + 2 / 3) / 3)
    # no prediction for the non-landmark: (1 + 1) / 3
    assert gap(truth, ["A", None, "B", "A"], confidence) == pytest.approx(2 / 3)
    assert gap([None, None], ["A", "B"], [0.5, 0.4]) == 0.0
    assert gap(["A", "B"], ["A", "B"], [0.2, 0.1]) == 1.0


def _results() -> QueryResults:
    # 4 landmark queries (3 right), 5 must-reject with similarities 0.1..0.5
    truth = np.array(["A", "A", "B", "B", None, None, None, None, None], dtype=object)
    predicted = np.array(["A", "A", "B", "A", "A", "B", "A", "B", "A"], dtype=object)
    sims = np.array([0.9, 0.45, 0.8, 0.95, 0.1, 0.2, 0.3, 0.4, 0.5])
    return QueryResults(truth, predicted, sims, sims)


def test_sensitivity_at_fpr_by_hand() -> None:
    r = _results()
    sens, t = sensitivity_at_fpr(r, 0.2)  # one of 5 negatives may pass: t just above 0.4
    assert 0.4 < t < 0.41
    assert sens == pytest.approx(3 / 4)  # 0.9, 0.45, 0.8 are right and above; 0.95 is wrong
    sens0, t0 = sensitivity_at_fpr(r, 0.0)  # t just above 0.5
    assert sens0 == pytest.approx(2 / 4)


def test_summary_and_per_landmark() -> None:
    r = _results()
    m = summarize(r, threshold=0.42, fprs=(0.2, 0.001))
    assert m["accuracy_at_1"] == pytest.approx(3 / 4)
    assert m["fpr_at_threshold"] == pytest.approx(1 / 5)
    assert m["sensitivity_at_threshold"] == pytest.approx(3 / 4)
    assert m["sensitivity_at_fpr_20pct"] == pytest.approx(3 / 4)
    assert m["sensitivity_at_fpr_0_1pct"] == pytest.approx(2 / 4)
    assert m["n_landmark_queries"] == 4 and m["n_reject_queries"] == 5
    # ranking by sim: B->A wrong .95, A ok .9, B ok .8, neg .5, A ok .45, ...: (1/2 + 2/3 + 3/5) / 4
    assert m["gap"] == pytest.approx((1 / 2 + 2 / 3 + 3 / 5) / 4)
    table = per_landmark(r, threshold=0.42).set_index("landmark")
    assert table.loc["A", "accuracy_at_1"] == 1.0 and table.loc["B", "accuracy_at_1"] == 0.5
    assert table.loc["A", "false_positives"] == 1 and table.loc["B", "false_positives"] == 0


def test_passed_by_role_splits_the_pooled_fpr() -> None:
    r = _results()  # must-reject similarities 0.1 .. 0.5; the last two are unknown landmarks
    roles = np.array(["known"] * 4 + ["non_landmark"] * 3 + ["unknown"] * 2)
    m = passed_by_role(r, roles, threshold=0.35)
    assert m == {"non_landmark_passed_at_threshold": 0.0, "unknown_passed_at_threshold": 1.0}
    # the pooled rate is their weighted mean
    assert summarize(r, 0.35)["fpr_at_threshold"] == pytest.approx((0 * 3 + 1.0 * 2) / 5)
    with pytest.raises(ValueError, match="roles"):
        passed_by_role(r, roles[:3], 0.35)


def test_curves() -> None:
    r = _results()
    curve = sensitivity_fpr_curve(r)
    assert curve["fpr"].is_monotonic_increasing and curve["sensitivity"].is_monotonic_increasing
    assert curve.iloc[0]["fpr"] == 0.0 and curve.iloc[-1]["fpr"] == 1.0
    assert curve.iloc[-1]["sensitivity"] == pytest.approx(3 / 4)
    pr = precision_recall_curve(r)
    assert pr["precision"].tolist()[:3] == pytest.approx([0.0, 0.5, 2 / 3])
    assert pr["recall"].iloc[-1] == pytest.approx(3 / 4)
