"""Leave-one-landmark-out calibration (landmark.retrieval.left_out) on hand-built embeddings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from landmark.params import IndexParams, load_params
from landmark.retrieval.left_out import left_out_scores, with_left_out_floor
from landmark.retrieval.threshold import Threshold, calibrate


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def params(repo_dir) -> IndexParams:
    return dataclasses.replace(load_params(repo_dir / "params.yaml").index, whiten_dim=0)


def _world(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks a, b, c far apart, and a_twin: photos of a look-alike of a."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 32))
    twin = centres[0] + 0.2 * rng.normal(size=32)
    rows = [centres[i] + 0.3 * rng.normal(size=(12, 32)) for i in range(3)] + [twin + 0.3 * rng.normal(size=(12, 32))]
    labels = np.repeat(np.array(["a", "b", "c", "a_twin"], dtype=object), 12)
    return _unit(np.concatenate(rows)), labels


def test_a_left_out_look_alike_scores_high(params: IndexParams) -> None:
    emb, labels = _world()
    scores = left_out_scores(emb, labels, params)
    assert scores.shape == (48,)  # every photo, grouped by landmark in name order: a, a_twin, b, c
    a, twin, b, c = (scores[i * 12:(i + 1) * 12] for i in range(4))
    # left out, a's photos land on a_twin and a_twin's on a; b and c have no look-alike
    assert min(a.min(), twin.min()) > max(b.max(), c.max())


def test_left_out_landmarks_are_capped_and_seeded(params: IndexParams) -> None:
    emb, labels = _world()
    two = left_out_scores(emb, labels, params, landmarks=2, seed=3)
    assert two.shape == (24,)
    assert np.array_equal(two, left_out_scores(emb, labels, params, landmarks=2, seed=3))
    assert left_out_scores(emb[:12], labels[:12], params).size == 0  # one landmark: nothing to leave out


def test_the_floor_raises_the_threshold_and_never_lowers_it() -> None:
    non_landmark = calibrate(np.linspace(-0.5, 0.1, 200), 0.01, fprs=(0.01, 0.001))
    high = np.linspace(-0.2, 0.4, 300)  # left-out scores above the non-landmark ones
    raised = with_left_out_floor(non_landmark, high)
    assert raised.value > non_landmark.value and raised.value == calibrate(high, 0.01).value
    assert all(raised.by_fpr[k] >= v for k, v in non_landmark.by_fpr.items())
    assert raised.n_calibration == 200 and raised.target_fpr == 0.01
    low = np.linspace(-0.9, -0.6, 300)
    assert with_left_out_floor(non_landmark, low) == non_landmark
    assert with_left_out_floor(non_landmark, np.zeros(0, np.float32)) == non_landmark
    assert isinstance(raised, Threshold)
