"""Graph cleaning, duplicates, difficulty, whitening and scoring on hand-built embeddings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from landmark.cleaning import scoring
from landmark.cleaning.difficulty import difficulty_table
from landmark.cleaning.duplicates import duplicate_losers, find_cross_duplicates
from landmark.cleaning.graph import REASON_ISOLATED, REASON_LANDMARK_DROPPED, clean_database, clean_landmark
from landmark.params import CleanParams
from landmark.retrieval.whitening import fit_whitening

P = CleanParams(
    k=4,
    edge_similarity=0.9,
    min_cluster_size=3,
    min_cluster_share=0.3,
    duplicate_similarity=0.99,
    num_parts=2,
    mutual_knn=False,
    cross_k=3,
    cross_margin=2.0,
    second_pass_margin=0.0,
    twin_share=0.0,
    whiten_dim=-1,
    whiten_photos_per_dim=8,
)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _blob(centre: np.ndarray, n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    return _unit(centre + noise * rng.standard_normal((n, centre.size)))


def test_main_cluster_kept_outliers_removed() -> None:
    rng = np.random.default_rng(0)
    axes = np.eye(8, dtype=np.float32)
    emb = np.concatenate([_blob(axes[0], 10, 0.05, rng), _blob(axes[1], 2, 0.05, rng), _unit(axes[2:3])])
    result = clean_landmark(emb, P)
    assert result.keep.tolist() == [True] * 10 + [False] * 3
    assert result.cluster[:10].tolist() == [0] * 10  # largest cluster first
    assert result.reason[12] == REASON_ISOLATED
    assert result.n_clusters == 3 and int(result.valid.sum()) == 1


def test_two_shooting_angles_both_kept_and_share_rule() -> None:
    rng = np.random.default_rng(1)
    axes = np.eye(8, dtype=np.float32)
    emb = np.concatenate([_blob(axes[0], 6, 0.05, rng), _blob(axes[1], 4, 0.05, rng)])
    assert clean_landmark(emb, P).keep.all()  # 4/10 >= 0.3
    strict = dataclasses.replace(P, min_cluster_share=0.5)
    assert clean_landmark(emb, strict).keep.tolist() == [True] * 6 + [False] * 4


def test_landmark_without_valid_cluster_is_dropped_and_tiny_inputs() -> None:
    emb = _unit(np.eye(4, dtype=np.float32))  # four unrelated photos
    result = clean_landmark(emb, P)
    assert result.dropped and not result.keep.any()
    assert set(result.reason) == {REASON_LANDMARK_DROPPED}
    assert clean_landmark(emb[:1], P).dropped
    assert clean_landmark(np.zeros((0, 4), np.float32), P).keep.size == 0


def test_mutual_knn_cuts_a_chain() -> None:
    # a tight group of 5 and one photo whose only strong neighbour is in that group
    rng = np.random.default_rng(2)
    base = _blob(np.eye(8, dtype=np.float32)[0], 5, 0.02, rng)
    stray = _unit(base[:1] + 0.45 * np.eye(8, dtype=np.float32)[1:2])
    emb = np.concatenate([base, stray])
    loose = dataclasses.replace(P, k=1, edge_similarity=0.5, min_cluster_share=0.0)
    assert clean_landmark(emb, loose).keep.all()
    assert not clean_landmark(emb, dataclasses.replace(loose, mutual_knn=True)).keep[5]


def test_clean_database_per_landmark_table() -> None:
    rng = np.random.default_rng(3)
    axes = np.eye(8, dtype=np.float32)
    emb = np.concatenate([_blob(axes[0], 6, 0.05, rng), _blob(axes[1], 6, 0.05, rng), _unit(axes[2:3])])
    labels = np.array(["a"] * 6 + ["b"] * 7)
    result = clean_database(emb, labels, P)
    assert result.keep.sum() == 12 and not result.keep[12]
    table = result.landmarks.set_index("landmark")
    assert table.loc["b", "removed"] == 1 and table.loc["a", "kept"] == 6
    with pytest.raises(ValueError, match="labels"):
        clean_database(emb, labels[:3], P)


def test_cross_duplicates_and_loser() -> None:
    emb = _unit(np.array([[1, 0, 0], [1, 0.001, 0], [0, 1, 0], [0, 1, 0.001]], np.float32))
    labels = np.array(["a", "b", "b", "b"])
    pairs = find_cross_duplicates(emb, labels, 0.99)
    assert pairs[["i", "j"]].values.tolist() == [[0, 1]]  # 2-3 are duplicates but of the same landmark
    assert duplicate_losers(pairs, np.array([0.9, 0.2, 0.9, 0.9])).tolist() == [1]


def test_difficulty_orders_and_splits_parts() -> None:
    rng = np.random.default_rng(4)
    axes = np.eye(256, dtype=np.float32)  # high dimension: centroids far apart, spread decides
    easy = _blob(axes[0], 5, 0.01, rng)
    hard = _blob(axes[1], 5, 0.6, rng)
    mid = _blob(axes[2], 5, 0.2, rng)
    emb = np.concatenate([easy, hard, mid])
    labels = np.array(["easy"] * 5 + ["hard"] * 5 + ["mid"] * 5)
    table = difficulty_table(emb, labels, np.ones(15, bool), num_parts=3).set_index("landmark")
    assert table.loc["easy", "difficulty"] < table.loc["mid", "difficulty"] < table.loc["hard", "difficulty"]
    assert table["part"].to_dict() == {"easy": 1, "hard": 3, "mid": 2}
    dropped = difficulty_table(emb, labels, np.r_[np.ones(10, bool), np.zeros(5, bool)], 3).set_index(
        "landmark"
    )
    assert dropped.loc["mid", "part"] == 0 and sorted(dropped["part"]) == [0, 1, 2]


def test_whitening_centres_and_identity() -> None:
    rng = np.random.default_rng(5)
    emb = _unit(rng.standard_normal((50, 6)) + 5.0)
    white = fit_whitening(emb, 4).apply(emb)
    assert white.shape == (50, 4)
    np.testing.assert_allclose(np.linalg.norm(white, axis=1), 1.0, atol=1e-5)
    assert abs(float((white @ white.T).mean())) < 0.1  # the common component is gone
    np.testing.assert_allclose(fit_whitening(emb, 0).apply(emb), emb, atol=1e-6)  # 0: off


def test_noise_injection_and_scores() -> None:
    labels = np.repeat(np.array(["a", "b", "c", "d"]), 10)
    noisy = scoring.inject_noise(
        labels, wrong_fraction=0.2, distractor_landmarks=1, distractor_fraction=0.1, seed=0
    )
    assert noisy.rows.size == 30 + 3
    assert int(noisy.is_noise.sum()) == 6 + 3
    assert len(set(noisy.filed)) == 3
    again = scoring.inject_noise(
        labels, wrong_fraction=0.2, distractor_landmarks=1, distractor_fraction=0.1, seed=0
    )
    assert np.array_equal(noisy.filed, again.filed)
    s = scoring.removal_scores(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool))
    assert (s["precision"], s["recall"]) == (0.5, 0.5)
    emb = _unit(np.array([[1, 0], [1, 0.1], [0, 1]], np.float32))
    assert scoring.baseline_remove(emb, np.array(["x", "x", "x"]), 1).tolist() == [False, False, True]


def test_knn_graph_faiss_path_matches_dense() -> None:
    from landmark.cleaning.graph import DENSE_MAX, knn_graph

    rng = np.random.default_rng(6)
    emb = _unit(rng.standard_normal((DENSE_MAX + 10, 16)))
    sims, ids = knn_graph(emb, 5)
    dense = emb @ emb.T
    np.fill_diagonal(dense, -np.inf)
    expected = np.sort(dense, axis=1)[:, ::-1][:, :5]
    np.testing.assert_allclose(sims, expected, atol=1e-5)
    assert not (ids == np.arange(emb.shape[0])[:, None]).any()
    small_sims, _ = knn_graph(emb[:50], 5)
    np.testing.assert_allclose(
        small_sims,
        np.sort(np.where(np.eye(50, dtype=bool), -np.inf, emb[:50] @ emb[:50].T), axis=1)[:, ::-1][:, :5],
        atol=1e-5,
    )


def test_cross_duplicates_ivf_path_finds_planted_pairs() -> None:
    from landmark.cleaning.duplicates import FLAT_MAX

    rng = np.random.default_rng(7)
    emb = _unit(rng.standard_normal((FLAT_MAX + 500, 8)))
    emb[-5:] = _unit(emb[:5] + 0.001 * rng.standard_normal((5, 8)))
    labels = np.where(np.arange(emb.shape[0]) < 5, "a", "b")
    pairs = find_cross_duplicates(emb, labels, 0.9999)
    assert {(int(i), int(j)) for i, j in pairs[["i", "j"]].values} >= {
        (i, emb.shape[0] - 5 + i) for i in range(5)
    }


def test_whitening_keeps_at_least_four_samples_per_dimension() -> None:
    from landmark.retrieval.whitening import fit_whitening

    emb = np.random.default_rng(0).normal(size=(40, 64)).astype(np.float32)
    assert fit_whitening(emb, 128).apply(emb).shape == (40, 10)  # 40 // 4, not the rank 40
    big = np.random.default_rng(1).normal(size=(1000, 64)).astype(np.float32)
    assert fit_whitening(big, 32).apply(big).shape == (1000, 32)
