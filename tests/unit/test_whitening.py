"""Learned whitening (the one implementation, for cleaning and the index): unit covariance, shrinkage,
the samples-per-dimension cap, and inside the faiss index (index.whiten_dim) the index searched with RAW
embeddings gives the similarities of whitened, normalised vectors; whiten_dim 0 keeps the plain index."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from landmark.params import load_params
from landmark.retrieval.build import build_index, calibrate_index
from landmark.retrieval.index import CentroidIndex
from landmark.retrieval.whitening import fit_whitening
from tests.conftest import REPO


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # anisotropic space: a few loud directions shared by every landmark, landmarks differ in quiet ones
    loud = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 32)) * 3.0
    labels = np.repeat(np.array(["a", "b", "c"], dtype=object), 100)
    centres = rng.normal(size=(3, 32)) * 0.5
    x = loud + centres[np.repeat(np.arange(3), 100)] + rng.normal(size=(300, 32)) * 0.2
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def test_fit_whitening_gives_unit_covariance_without_shrinkage() -> None:
    x, _ = _data()
    w = fit_whitening(x, 16, shrinkage=0.0)
    y = (x - w.mean) @ w.projection  # scatter-matrix whitening: covariance 1 / (N - 1)
    assert w.projection.shape == (32, 16)
    assert np.allclose(np.cov(y.T) * (len(x) - 1), np.eye(16), atol=1e-3)


def test_shrinkage_flattens_the_small_directions_less() -> None:
    x, _ = _data()
    plain, shrunk = fit_whitening(x, 16, 0.0), fit_whitening(x, 16, 1.0)
    ratio = lambda w: np.linalg.norm(w.projection[:, -1]) / np.linalg.norm(w.projection[:, 0])  # noqa: E731
    assert ratio(shrunk) < ratio(plain)  # the quietest direction is blown up less


def test_dims_are_capped_by_samples_per_dimension_and_rank() -> None:
    x, _ = _data()
    assert fit_whitening(x, 128).dims == 32  # rank 32 < 300 // 4
    assert fit_whitening(x[:40], 128).dims == 10  # 40 // 4
    assert fit_whitening(x[:40], 128, samples_per_dim=1).dims == 32
    assert fit_whitening(x, 0).dims == 32 and np.allclose(fit_whitening(x, 0).apply(x), x, atol=1e-6)


def test_whitened_index_matches_numpy_and_survives_save(tmp_path: Path) -> None:
    x, labels = _data()
    params = dataclasses.replace(load_params(REPO / "params.yaml").index, whiten_dim=16, whiten_shrinkage=1.0)
    index = build_index(x, labels, params, "single")
    wx = fit_whitening(x, 16, 1.0).apply(x)
    centroids = np.stack([wx[labels == n].mean(0) for n in ("a", "b", "c")])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    sims, found = index.search(x[:20], k=1)
    assert np.allclose(sims[:, 0], (wx[:20] @ centroids.T).max(1), atol=1e-4)
    assert list(found[:, 0]) == list(np.array(["a", "b", "c"])[(wx[:20] @ centroids.T).argmax(1)])
    index.save(tmp_path)
    again, _ = CentroidIndex.load(tmp_path).search(x[:20], k=1)
    assert np.allclose(again, sims, atol=1e-6)
    assert calibrate_index(index, x[200:], params).n_calibration == 100


def test_whitening_off_is_the_plain_index() -> None:
    x, labels = _data()
    params = dataclasses.replace(load_params(REPO / "params.yaml").index, whiten_dim=0)
    sims, _ = build_index(x, labels, params, "single").search(x[:5], k=1)
    plain = np.stack([x[labels == n].mean(0) for n in ("a", "b", "c")])
    plain /= np.linalg.norm(plain, axis=1, keepdims=True)
    assert np.allclose(sims[:, 0], (x[:5] @ plain.T).max(1), atol=1e-5)


def test_index_whitening_needs_four_photos_per_dimension() -> None:
    from landmark.retrieval.build import whiten_dims

    assert whiten_dims(0, 10_000) == 0
    assert whiten_dims(128, 10_000) == 128
    assert whiten_dims(128, 464) == 116
    assert whiten_dims(128, 40) == 0  # 10 dimensions would be below the floor: no whitening


def test_whitening_fitted_on_at_most_some_photos_a_landmark() -> None:
    from landmark.retrieval.build import per_landmark_rows

    labels = np.array(["b"] * 7 + ["a"] * 2 + ["c"] * 4, dtype=object)
    rows = per_landmark_rows(labels, 3)
    assert rows.tolist() == [0, 3, 6, 7, 8, 9, 11, 12]  # b: first, middle, last of 7; a: both; c: 3 of 4
    assert per_landmark_rows(labels, 100).tolist() == list(range(13))
    x, y = _data()
    y = np.array(["a"] * 250 + ["b"] * 30 + ["c"] * 20, dtype=object)  # one landmark holds most photos
    params = dataclasses.replace(load_params(REPO / "params.yaml").index, whiten_dim=16, whiten_shrinkage=0.0)
    balanced = build_index(x, y, dataclasses.replace(params, whiten_per_landmark=30), "single")
    fitted = fit_whitening(x[per_landmark_rows(y, 30)], 16)  # 80 photos: 16 dimensions
    q = x[:5]
    space = fitted.apply(x)  # the centroids are re-normalised means in the whitened space
    means = np.stack([space[y == n].mean(axis=0) for n in ("a", "b", "c")])
    expected = fitted.apply(q) @ (means / np.linalg.norm(means, axis=1, keepdims=True)).T
    got, _ = balanced.search(q, k=3)
    assert np.allclose(np.sort(got, axis=1), np.sort(expected, axis=1), atol=1e-4)
    plain = build_index(x, y, params, "single")
    assert not np.allclose(np.sort(plain.search(q, k=3)[0], axis=1), np.sort(got, axis=1), atol=1e-4)
