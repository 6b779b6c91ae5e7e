"""Threshold calibration by hand."""

from __future__ import annotations

import numpy as np
import pytest

from landmark.retrieval.threshold import Threshold, calibrate, false_positive_rate, threshold_for_fpr

SCORES = np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.4, 0.6, 0.8, 0.0])  # 10 non-landmarks


def test_threshold_for_fpr_by_hand() -> None:
    t = threshold_for_fpr(SCORES, 0.2)  # 2 may pass: 0.9 and 0.8; 0.7 must not
    assert 0.7 < t <= 0.7 + 1e-12
    assert false_positive_rate(SCORES, t) == pytest.approx(0.2)
    t0 = threshold_for_fpr(SCORES, 0.0)
    assert t0 > 0.9 and false_positive_rate(SCORES, t0) == 0.0
    assert threshold_for_fpr(SCORES, 0.05) == t0  # floor(0.5) = 0 allowed
    assert false_positive_rate(SCORES, threshold_for_fpr(SCORES, 1.0)) == 1.0


def test_ties_at_the_cut_are_rejected() -> None:
    t = threshold_for_fpr(np.array([0.5, 0.5, 0.5, 0.1]), 0.25)
    assert false_positive_rate(np.array([0.5, 0.5, 0.5, 0.1]), t) == 0.0


def test_bad_inputs() -> None:
    with pytest.raises(ValueError):
        threshold_for_fpr(np.array([]), 0.01)
    with pytest.raises(ValueError):
        threshold_for_fpr(SCORES, 1.5)


def test_calibrate_and_confidence_roundtrip() -> None:
    th = calibrate(SCORES, 0.1, fprs=(0.2, 0.1))
    assert set(th.by_fpr) == {"0.2", "0.1"} and th.value == th.by_fpr["0.1"] and th.n_calibration == 10
    again = Threshold.from_dict(th.to_dict())
    assert again == th
    conf = again.confidence(np.array([-1.0, th.value, 1.0, 0.75, 0.85, -np.inf]))
    assert conf[0] == 0.0 and conf[1] == pytest.approx(0.5) and conf[2] == 1.0 and conf[5] == 0.0
    assert conf[3] < 0.5 < conf[4]
