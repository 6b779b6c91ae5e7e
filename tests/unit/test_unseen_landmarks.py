"""The calibration landmarks' photos that count as unseen-landmark photos (landmark.retrieval.unseen_landmarks)."""

from __future__ import annotations

import numpy as np
import pytest

from landmark.retrieval.unseen_landmarks import counted, own_landmark_similarity


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_own_landmark_similarity_is_the_mean_of_the_k_most_similar_others() -> None:
    rng = np.random.default_rng(0)
    emb = _unit(rng.normal(size=(11, 8)))
    labels = np.array(["a"] * 6 + ["b"] * 4 + ["c"])
    got = own_landmark_similarity(emb, labels, knn=3)
    for i in range(len(labels)):
        others = [j for j in range(len(labels)) if labels[j] == labels[i] and j != i]
        if not others:
            assert got[i] == -1.0  # a landmark's only photo has no neighbour of its own
            continue
        sims = sorted((float(emb[i] @ emb[j]) for j in others), reverse=True)[:3]
        assert got[i] == pytest.approx(np.mean(sims), abs=1e-6)
    order = rng.permutation(len(labels))  # row order does not matter
    np.testing.assert_allclose(own_landmark_similarity(emb[order], labels[order], 3), got[order], atol=1e-6)


def test_a_photo_counts_when_its_own_landmark_is_at_least_as_close_as_the_answer() -> None:
    # two tight landmarks; the last photo filed under "a" shows the database's landmark (close to the answer)
    a = _unit(np.array([[1, 0.1, 0], [1, 0, 0.1], [1, 0.05, 0.05], [0, 0, 1]], dtype=np.float64))
    scores = np.array([0.2, 0.25, 0.3, 0.9])  # acceptance scores against the index
    own = own_landmark_similarity(a, np.array(["a"] * 4), knn=2)
    keep = counted(scores, own)
    assert keep.tolist() == [True, True, True, False]


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="knn"):
        own_landmark_similarity(np.zeros((2, 3), np.float32), np.array(["a", "a"]), knn=0)
    with pytest.raises(ValueError, match="labels"):
        own_landmark_similarity(np.zeros((2, 3), np.float32), np.array(["a"]))
    with pytest.raises(ValueError, match="own-landmark"):
        counted(np.zeros(3), np.zeros(2))
