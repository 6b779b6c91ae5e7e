"""The frozen backbone's second opinion (landmark.retrieval.frozen_view): the per-landmark kNN score equals a
brute-force computation, whatever the order of the database rows, and survives a save / load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landmark.retrieval.frozen_view import FrozenView


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute(db: np.ndarray, labels: np.ndarray, q: np.ndarray, names: list[str | None], k: int) -> np.ndarray:
    out = []
    for row, name in zip(unit(q), names, strict=True):
        mine = unit(db)[labels == name]
        out.append(-1.0 if name is None or len(mine) == 0 else np.sort(mine @ row)[::-1][:k].mean())
    return np.array(out)


@pytest.fixture()
def world() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str | None]]:
    rng = np.random.default_rng(3)
    labels = rng.choice(["a", "b", "c"], 40)
    labels[:2] = ["d", "d"]  # a landmark with fewer photos than k
    db = rng.normal(size=(40, 16)).astype(np.float32) * rng.uniform(0.5, 3, (40, 1))  # not normalised
    q = rng.normal(size=(9, 16)).astype(np.float32)
    names: list[str | None] = ["a", "b", "c", "d", None, "unknown", "a", "c", "b"]
    return db, labels, q, names


@pytest.mark.parametrize("k", [1, 3, 5])
def test_score_is_the_mean_of_the_k_most_similar_photos_of_the_answered_landmark(world, k: int) -> None:
    db, labels, q, names = world
    got = FrozenView.build(db, labels).score(q, names, k)
    np.testing.assert_allclose(got, brute(db, labels, q, names, k), atol=1e-5)
    assert got[4] == -1.0 and got[5] == -1.0  # no answer / a landmark the view does not hold


def test_row_order_does_not_matter_and_save_load_keeps_scores(world, tmp_path: Path) -> None:
    db, labels, q, names = world
    view = FrozenView.build(db, labels)
    perm = np.random.default_rng(0).permutation(len(db))
    np.testing.assert_allclose(FrozenView.build(db[perm], labels[perm]).score(q, names), view.score(q, names),
                               atol=1e-6)
    view.save(tmp_path)
    loaded = FrozenView.load(tmp_path)
    assert loaded is not None and loaded.dim == 16
    np.testing.assert_allclose(loaded.score(q, names), view.score(q, names), atol=2e-3)  # float16 on disk
    assert FrozenView.load(tmp_path / "nothing") is None


def test_bad_inputs_are_named(world) -> None:
    db, labels, q, names = world
    with pytest.raises(ValueError, match="40 labels"):
        FrozenView.build(db[:5], labels)
    with pytest.raises(ValueError, match="no database photos"):
        FrozenView.build(db[:0], labels[:0])
    view = FrozenView.build(db, labels)
    with pytest.raises(ValueError, match="16-d"):
        view.score(q[:, :8], names)
    with pytest.raises(ValueError, match="9 queries but 2"):
        view.score(q, names[:2])
    with pytest.raises(ValueError, match="k must be"):
        view.score(q, names, 0)
