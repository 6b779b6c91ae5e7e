"""Alternative acceptance scores (research.rejection) on hand-built vectors and a real faiss index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from landmark.data.manifest import SPLIT_CALIBRATION, SPLIT_QUERY, SPLIT_TRAIN
from landmark.retrieval.index import CentroidIndex
from research.real_world import split_by_source
from research.rejection import acceptance_scores, negative_similarity, top_two_landmarks


def _unit(*rows: list[float]) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def index() -> CentroidIndex:
    # two centroids of landmark a (x axis, slightly tilted) and one of b (y axis)
    vectors = _unit([1, 0, 0], [1, 0.1, 0], [0, 1, 0])
    return CentroidIndex.build(vectors, np.array(["a", "a", "b"], dtype=object))


def test_top_two_skips_centroids_of_the_same_landmark(index: CentroidIndex) -> None:
    q = _unit([1, 0.05, 0], [1, 1, 0])
    first, s1, s2 = top_two_landmarks(index, q)
    assert list(first) == ["a", "a"] or list(first) == ["a", "b"]
    assert first[0] == "a"
    assert s2[0] == pytest.approx(float(q[0] @ _unit([0, 1, 0])[0]), abs=1e-5)  # b, not a's 2nd centroid
    assert s1[1] - s2[1] < 0.1  # between a and b: small margin


def test_margin_ranks_an_ambiguous_photo_below_a_clear_one(index: CentroidIndex) -> None:
    clear, ambiguous = _unit([1, 0, 0.8]), _unit([1, 0.9, 0])
    _, sim = acceptance_scores(index, np.vstack([clear, ambiguous]), "similarity")
    _, margin = acceptance_scores(index, np.vstack([clear, ambiguous]), "margin", margin_beta=1.0)
    assert sim[1] > sim[0]  # the plain similarity prefers the ambiguous photo ...
    assert margin[0] > margin[1]  # ... the margin does not


def test_negative_penalty_pushes_down_photos_near_non_landmarks(index: CentroidIndex) -> None:
    q = _unit([1, 0, 0.2], [1, 0, -0.2])
    negatives = _unit([0.8, 0, 1], [0.7, 0, 1])
    near = negative_similarity(q, negatives, k=2)
    assert near[0] > near[1]
    _, sim = acceptance_scores(index, q, "similarity")
    _, pen = acceptance_scores(index, q, "negative_penalty", negatives=negatives, negative_k=2)
    assert sim[0] == pytest.approx(sim[1], abs=1e-6) and pen[0] < pen[1]
    assert np.allclose(negative_similarity(q, np.zeros((0, 3), np.float32)), 0.0)
    with pytest.raises(ValueError, match="score must be one of"):
        acceptance_scores(index, q, "nope")


def test_split_by_source_keeps_a_source_in_one_split() -> None:
    sources = pd.Series([f"s{i // 4}" for i in range(400)])
    split = split_by_source(sources, (0.3, 0.35), np.random.default_rng(0))
    frame = pd.DataFrame({"source": sources, "split": split})
    assert (frame.groupby("source")["split"].nunique() == 1).all()
    shares = frame["split"].value_counts(normalize=True)
    assert set(shares.index) == {SPLIT_TRAIN, SPLIT_CALIBRATION, SPLIT_QUERY}
    assert 0.15 < shares[SPLIT_TRAIN] < 0.45
