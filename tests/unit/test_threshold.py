"""Threshold calibration by hand."""

from __future__ import annotations

import numpy as np
import pytest

from landmark.retrieval.threshold import (
    Threshold,
    calibrate,
    false_positive_rate,
    fpr_upper_bound,
    photos_for_bound,
    threshold_for_fpr,
)

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


@pytest.mark.parametrize(("n", "passed"), [(104, 1), (491, 4), (1000, 10), (50, 0), (20, 19), (10_000, 10)])
def test_fpr_upper_bound_is_clopper_pearson(n: int, passed: int) -> None:
    from scipy.stats import beta  # the closed form: the level quantile of Beta(passed + 1, n - passed)

    assert fpr_upper_bound(n, passed) == pytest.approx(beta.ppf(0.95, passed + 1, n - passed), rel=1e-6)


def test_fpr_upper_bound_covers_the_true_rate() -> None:
    # 4,000 calibration sets of 200 photos whose true FPR is 2%: the bound falls below 2% in at most
    # about 5% of them, and stays informative (below 6%) in most
    rng = np.random.default_rng(0)
    bounds = np.array([fpr_upper_bound(200, int(k)) for k in rng.binomial(200, 0.02, size=4000)])
    assert (bounds < 0.02).mean() <= 0.05 + 0.01
    assert np.median(bounds) < 0.06


def test_fpr_upper_bound_edges() -> None:
    assert fpr_upper_bound(0, 0) == 1.0 and fpr_upper_bound(5, 5) == 1.0
    assert fpr_upper_bound(50, 0) == pytest.approx(1 - 0.05 ** (1 / 50), rel=1e-9)
    with pytest.raises(ValueError, match="passed must be in 0..n"):
        fpr_upper_bound(10, 11)


def test_calibrate_warns_when_too_few_photos_bound_the_rate(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(1)
    th = calibrate(rng.normal(size=104), 0.01)
    assert th.fpr_upper_95 == pytest.approx(0.0448, abs=1e-4)
    assert "104 non-landmark photos" in caplog.text and f"about {photos_for_bound(0.01)} photos" in caplog.text
    caplog.clear()
    assert calibrate(rng.normal(size=1000), 0.01).fpr_upper_95 < 0.02 and "calibration" not in caplog.text
