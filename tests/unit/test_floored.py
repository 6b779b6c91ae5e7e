"""database_recognizer.floored: the threshold raised by must-reject landmark photos, on the plain or the
frozen view's fused score."""

from __future__ import annotations

import numpy as np
import pytest

from landmark.retrieval.database_recognizer import MustReject, floored
from landmark.retrieval.frozen_view import FrozenView, ViewScore
from landmark.retrieval.threshold import calibrate, threshold_for_fpr


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_each_group_raises_the_threshold_to_its_own_at_the_same_fpr() -> None:
    rng = np.random.default_rng(0)
    non_landmark = calibrate(rng.uniform(-0.2, 0.2, 300), 0.01, (0.01, 0.001))
    high = MustReject("unseen", rng.uniform(0.1, 0.6, 200), np.array(["a"] * 200, dtype=object))
    low = MustReject("left_out", rng.uniform(-0.5, -0.1, 50), np.array(["b"] * 50, dtype=object))
    threshold, metrics = floored(non_landmark, [low, high])
    assert threshold.value == pytest.approx(threshold_for_fpr(high.scores, 0.01))
    assert threshold.value > non_landmark.value
    assert metrics == {"threshold_left_out": pytest.approx(threshold_for_fpr(low.scores, 0.01)),
                       "threshold_unseen": pytest.approx(threshold.value)}
    assert threshold.n_calibration == non_landmark.n_calibration  # what the non-landmark photos promise
    assert floored(non_landmark, [low]) == (non_landmark, {"threshold_left_out": pytest.approx(
        threshold_for_fpr(low.scores, 0.01))})
    assert floored(non_landmark, [])[0] == non_landmark


def test_with_a_frozen_view_the_groups_are_rescored_like_queries() -> None:
    rng = np.random.default_rng(1)
    db = _unit(rng.normal(size=(12, 6)))
    view = ViewScore(FrozenView.build(db, np.repeat(["a", "b", "c"], 4)), weight=1.0, knn=2, trainable_blocks=2)
    feats = _unit(rng.normal(size=(40, 6)))
    answers = np.array(rng.choice(["a", "b", "c"], 40), dtype=object)
    group = MustReject("unseen", rng.uniform(0.2, 0.8, 40), answers, feats)
    non_landmark = calibrate(rng.uniform(-0.5, 0.0, 300), 0.01)
    threshold, metrics = floored(non_landmark, [group], view)
    fused = view.fused(group.scores, feats, answers)
    assert threshold.value == pytest.approx(max(non_landmark.value, threshold_for_fpr(fused, 0.01)))
    assert metrics["threshold_unseen"] == pytest.approx(threshold_for_fpr(fused, 0.01))
    with pytest.raises(ValueError, match="unseen landmarks: their frozen view"):
        floored(non_landmark, [MustReject("unseen", group.scores, answers)], view)
