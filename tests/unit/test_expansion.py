"""Database-side augmentation and alpha query expansion on hand-computed 2-D examples."""

from __future__ import annotations

import numpy as np
import pytest

from landmark.retrieval.expansion import database_augmentation, query_expansion

E1, E2, E3 = [1.0, 0.0], [0.8, 0.6], [0.0, 1.0]


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a)


def test_dba_adds_the_nearest_other_photo_weighted_by_cosine_power() -> None:
    db = np.array([E1, E2, E3], np.float32)
    out = database_augmentation(db, k=1, alpha=1.0)
    # e1's nearest other photo is e2 (cosine 0.8): e1 + 0.8 e2 = (1.64, 0.48)
    np.testing.assert_allclose(out[0], unit([1.64, 0.48]), atol=1e-6)
    # e2's nearest is e1 (0.8 > 0.6): e2 + 0.8 e1 = (1.6, 0.6)
    np.testing.assert_allclose(out[1], unit([1.6, 0.6]), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    assert out.dtype == np.float32


def test_dba_within_labels_ignores_other_landmarks() -> None:
    db = np.array([E1, E2, E3], np.float32)
    out = database_augmentation(db, k=2, alpha=2.0, labels=np.array(["a", "b", "b"], dtype=object))
    np.testing.assert_allclose(out[0], E1, atol=1e-6)  # no other photo of landmark a: unchanged
    np.testing.assert_allclose(out[1], unit([0.8, 0.6 + 0.36]), atol=1e-6)  # e2 + 0.6^2 e3


def test_dba_k0_and_negative_neighbours_change_nothing() -> None:
    db = np.array([E1, [-1.0, 0.0]], np.float32)
    np.testing.assert_allclose(database_augmentation(db, k=0, alpha=3.0), db)
    np.testing.assert_allclose(database_augmentation(db, k=1, alpha=0.0), db)  # cosine -1 weighs 0


def test_alpha_query_expansion() -> None:
    db = np.array([E2, E3], np.float32)
    queries = np.array([E1, [0.0, -1.0]], np.float32)
    out = query_expansion(queries, db, k=1, alpha=3.0)
    np.testing.assert_allclose(out[0], unit([1.0 + 0.512 * 0.8, 0.512 * 0.6]), atol=1e-6)
    np.testing.assert_allclose(out[1], [0.0, -1.0], atol=1e-6)  # best neighbour has cosine 0: no pull
    np.testing.assert_allclose(query_expansion(queries, db, k=0, alpha=3.0), queries)


def test_bad_shapes_and_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        database_augmentation(np.ones(3, np.float32), k=1, alpha=1.0)
    with pytest.raises(ValueError, match="k >= 0"):
        query_expansion(np.ones((1, 2), np.float32), np.ones((1, 2), np.float32), k=-1, alpha=1.0)
    with pytest.raises(ValueError, match="labels"):
        database_augmentation(np.eye(2, dtype=np.float32), k=1, alpha=1.0, labels=np.array(["a"]))
