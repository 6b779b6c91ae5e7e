"""Centroids by agglomerative clustering, on hand-made vectors."""

from __future__ import annotations

import numpy as np
import pytest

from landmark.retrieval.centroids import (
    build_centroids,
    cluster_landmark,
    l2_normalise,
    photo_centroids,
    single_centroids,
)


def _around(direction: list[float], n: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.array(direction, dtype=np.float32)
    return l2_normalise(base + noise * rng.standard_normal((n, len(base))).astype(np.float32))


def test_two_shooting_angles_give_two_centroids() -> None:
    x = np.concatenate([_around([1, 0, 0, 0], 5, 0.01, 0), _around([0, 1, 0, 0], 3, 0.01, 1)])
    cents, sizes = cluster_landmark(x, distance=0.35, max_centroids=3, min_photos=2)
    assert sizes.tolist() == [5, 3]
    np.testing.assert_allclose(np.linalg.norm(cents, axis=1), 1.0, atol=1e-6)
    assert cents[0] @ np.array([1, 0, 0, 0]) > 0.99
    assert cents[1] @ np.array([0, 1, 0, 0]) > 0.99


def test_small_cluster_is_merged_into_the_nearest() -> None:
    # a lone photo at 45 degrees between x (4 photos) and far-away z (4 photos) but nearer x
    lone = l2_normalise(np.array([[1.0, 0.3, 0, 0]]))
    x = np.concatenate([_around([1, 0, 0, 0], 4, 0.01, 0), _around([0, 0, 1, 0], 4, 0.01, 1), lone])
    cents, sizes = cluster_landmark(x, distance=0.01, max_centroids=5, min_photos=2)
    assert sorted(sizes.tolist()) == [4, 5]
    big = cents[int(np.argmax(sizes))]
    assert big @ np.array([1, 0, 0, 0]) > 0.9


def test_max_centroids_bounds_the_count() -> None:
    x = np.concatenate([_around(list(np.eye(4)[i]), 3, 0.01, i) for i in range(4)])
    cents, sizes = cluster_landmark(x, distance=0.35, max_centroids=2, min_photos=1)
    assert len(cents) == 2 and sizes.sum() == 12


def test_one_photo_and_identical_photos() -> None:
    one = l2_normalise(np.array([[3.0, 4.0]]))
    cents, sizes = cluster_landmark(one, 0.35, 3, 2)
    np.testing.assert_allclose(cents, [[0.6, 0.8]], atol=1e-6)
    assert sizes.tolist() == [1]
    same = np.repeat(one, 4, axis=0)
    cents, sizes = cluster_landmark(same, 0.35, 3, 2)
    assert sizes.tolist() == [4]


def test_build_and_baselines_keep_labels() -> None:
    x = np.concatenate([_around([1, 0, 0], 3, 0.01, 0), _around([0, 1, 0], 2, 0.01, 1)])
    labels = ["b"] * 3 + ["a"] * 2
    cs = build_centroids(x, labels, 0.35, 3, 1)
    assert cs.labels.tolist() == ["a", "b"] and cs.sizes.tolist() == [2, 3]
    assert len(single_centroids(x, labels)) == 2
    photos = photo_centroids(x, labels)
    assert len(photos) == 5 and photos.labels.tolist() == labels
    with pytest.raises(ValueError):
        build_centroids(x, labels[:2], 0.35, 3, 1)
