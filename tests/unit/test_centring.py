"""Impostor centring: each centroid's offset is its mean similarity to other landmarks' photos, the
index subtracts it and re-ranks, and the offsets survive save/load."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from landmark.params import load_params
from landmark.retrieval.build import build_index
from landmark.retrieval.centring import impostor_means
from landmark.retrieval.centroids import l2_normalise
from landmark.retrieval.index import CentroidIndex, IndexConfig

REPO = Path(__file__).resolve().parents[2]


def test_impostor_mean_is_the_mean_over_other_landmarks_only() -> None:
    rng = np.random.default_rng(0)
    photos = l2_normalise(rng.normal(size=(30, 8)))
    labels = np.array(["a"] * 10 + ["b"] * 12 + ["c"] * 8, dtype=object)
    vectors = l2_normalise(rng.normal(size=(4, 8)))
    vlabels = np.array(["a", "a", "b", "zzz"], dtype=object)
    got = impostor_means(vectors, vlabels, photos, labels, top=0, sample=0)
    for i, name in enumerate(vlabels):
        want = (photos[labels != name] @ vectors[i]).mean()
        assert abs(got[i] - want) < 1e-6
    # a cohort sample: evenly spaced rows, still only other landmarks
    sampled = impostor_means(vectors, vlabels, photos, labels, top=0, sample=15)
    pick = np.linspace(0, 29, 15).round().astype(int)
    assert abs(sampled[0] - (photos[pick][labels[pick] != "a"] @ vectors[0]).mean()) < 1e-6


def test_offsets_rerank_and_survive_save(tmp_path: Path) -> None:
    vectors = l2_normalise(np.array([[1.0, 0.0], [0.8, 0.6]]))
    query = l2_normalise(np.array([[0.95, 0.3]]))
    sims = (query @ vectors.T)[0]
    assert sims[0] > sims[1]
    # row 0 is generic (a high impostor mean): centred, row 1 wins
    index = CentroidIndex.build(vectors, np.array(["generic", "distinct"]), offsets=np.array([0.5, 0.1]))
    scores, labels = index.search(query, k=2)
    assert labels[0].tolist() == ["distinct", "generic"]
    assert np.allclose(scores[0], [sims[1] - 0.1, sims[0] - 0.5], atol=1e-6)
    index.save(tmp_path)
    again = CentroidIndex.load(tmp_path)
    assert np.array_equal(again.offsets, index.offsets)
    assert again.search(query, k=2)[1].tolist() == labels.tolist()


def test_build_index_centres_the_recognizer_but_not_the_baselines() -> None:
    rng = np.random.default_rng(1)
    x = l2_normalise(rng.normal(size=(120, 32)))
    labels = np.repeat(np.array(["a", "b", "c", "d"], dtype=object), 30)
    on = dataclasses.replace(load_params(REPO / "params.yaml").index, whiten_dim=0, impostor_centring=True)
    centred = build_index(x, labels, on, "centroids")
    assert centred.offsets.any() and not build_index(x, labels, on, "single").offsets.any()
    plain = build_index(x, labels, dataclasses.replace(on, impostor_centring=False), "centroids")
    assert not plain.offsets.any()
    want = impostor_means(centred.vectors(), centred.labels, x, labels, on.impostor_top, on.impostor_sample)
    assert np.allclose(centred.offsets, want, atol=1e-6)


def test_top_cohort_is_the_nearest_other_landmark_photos() -> None:
    rng = np.random.default_rng(2)
    photos = l2_normalise(rng.normal(size=(40, 6)))
    labels = np.array(["a"] * 15 + ["b"] * 25, dtype=object)
    vector = l2_normalise(rng.normal(size=(1, 6)))
    got = impostor_means(vector, np.array(["a"], dtype=object), photos, labels, top=3, sample=0)[0]
    others = np.sort(photos[labels != "a"] @ vector[0])[-3:]
    assert abs(got - others.mean()) < 1e-6


def test_a_view_picks_the_landmark_and_its_mean_decides(tmp_path: Path) -> None:
    # landmark a: a view right on the query, and a mean further away; landmark b: one row, in between
    vectors = l2_normalise(np.array([[1.0, 0.0, 0.0], [0.6, 0.0, 0.8], [0.8, 0.6, 0.0], [0.8, 0.6, 0.0]]))
    labels = np.array(["a", "a", "b", "b"], dtype=object)
    index = CentroidIndex.build(vectors, labels, is_mean=np.array([False, True, False, True]))
    query = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
    scores, names = index.search(query, k=2)
    assert names[0].tolist() == ["a", "b"]  # a's view is the nearest row
    assert np.allclose(scores[0], [0.6, 0.8], atol=1e-6)  # but a is only as sure as its mean
    index.save(tmp_path)
    assert CentroidIndex.load(tmp_path).search(query, k=2)[1].tolist() == names.tolist()


def brute_force(vectors: np.ndarray, labels: np.ndarray, offsets: np.ndarray, is_mean: np.ndarray,
                queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The index's contract, computed row by row: landmarks ranked by their best row's score, each
    scored by its mean row."""
    scores, names = [], []
    for q in queries:
        row_scores = vectors @ q - offsets
        best = {name: row_scores[labels == name].max() for name in set(labels)}
        ranked = sorted(best, key=lambda name: -best[name])[:k]
        names.append(ranked)
        scores.append([row_scores[(labels == name) & is_mean][0] for name in ranked])
    return np.array(scores), np.array(names, dtype=object)


def test_search_matches_the_row_by_row_contract_on_many_rows() -> None:
    rng = np.random.default_rng(3)
    n_landmarks, views = 60, 3  # 240 rows: more than the re-ranked k * rows + RERANK
    labels = np.repeat([f"l{i:02d}" for i in range(n_landmarks)], views + 1).astype(object)
    is_mean = np.tile([False] * views + [True], n_landmarks)
    vectors = l2_normalise(rng.normal(size=(len(labels), 16)).astype(np.float32))
    offsets = rng.uniform(0.0, 0.3, len(labels)).astype(np.float32)
    queries = l2_normalise(rng.normal(size=(40, 16)).astype(np.float32))
    index = CentroidIndex.build(vectors, labels, offsets=offsets, is_mean=is_mean)
    scores, names = index.search(queries, k=3)
    want_scores, want_names = brute_force(vectors, labels, offsets, is_mean, queries, k=3)
    assert names.tolist() == want_names.tolist()
    assert np.allclose(scores, want_scores, atol=1e-5)


def test_a_mean_row_beyond_the_searched_rows_still_scores_exactly() -> None:
    # a's view sits on the query; 100 rows of other landmarks are nearer than a's own mean row
    query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    others = l2_normalise(np.array([[0.9, 0.3 + 0.001 * i, 0.0] for i in range(100)], dtype=np.float32))
    vectors = np.vstack([[1.0, 0.0, 0.0], l2_normalise(np.array([[0.2, 0.0, 1.0]], np.float32)), others])
    labels = np.array(["a", "a"] + [f"o{i}" for i in range(100)], dtype=object)
    is_mean = np.array([False, True] + [True] * 100)
    scores, names = CentroidIndex.build(vectors.astype(np.float32), labels, is_mean=is_mean).search(query[None], k=1)
    assert names[0, 0] == "a"
    assert np.isclose(scores[0, 0], float(vectors[1] @ query), atol=1e-6)  # not -inf: the row was not searched


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq"])
def test_approximate_indexes_score_by_their_stored_mean_vectors(kind: str) -> None:
    rng = np.random.default_rng(5)
    labels = np.repeat([f"l{i:03d}" for i in range(200)], 4).astype(object)
    is_mean = np.tile([False, False, False, True], 200)
    vectors = l2_normalise(rng.normal(size=(len(labels), 32)).astype(np.float32))
    offsets = rng.uniform(0.0, 0.2, len(labels)).astype(np.float32)
    config = IndexConfig(type=kind, hnsw_m=16, hnsw_ef_search=64, ivf_nlist=8, ivf_nprobe=8, pq_m=8)
    index = CentroidIndex.build(vectors, labels, config, offsets=offsets, is_mean=is_mean)
    queries = l2_normalise(rng.normal(size=(20, 32)).astype(np.float32))
    scores, names = index.search(queries, k=2)
    stored = index.vectors()
    for q, row_names, row_scores in zip(queries, names, scores, strict=True):
        for name, score in zip(row_names, row_scores, strict=True):
            mean_row = int(np.flatnonzero((labels == name) & is_mean)[0])
            assert np.isclose(score, stored[mean_row] @ q - offsets[mean_row], atol=1e-5)


def test_whitened_index_scores_its_means_in_the_whitened_space() -> None:
    # the product's build: whitening inside faiss (IndexPreTransform), views, means and offsets; on an
    # index small enough to be searched whole, each landmark's score is faiss's own score of its mean row
    rng = np.random.default_rng(11)
    centres = l2_normalise(rng.normal(size=(12, 64)).astype(np.float32))
    labels = np.repeat([f"l{i:02d}" for i in range(12)], 40).astype(object)
    photos = l2_normalise(centres[np.repeat(np.arange(12), 40)] + 0.6 * rng.normal(size=(480, 64)).astype(np.float32))
    params = dataclasses.replace(load_params(REPO / "params.yaml").index, whiten_dim=32)
    index = build_index(photos, labels, params, "centroids")
    assert index.is_mean.any() and index.offsets.any() and index.index.ntotal <= 64
    queries = l2_normalise(rng.normal(size=(30, 64)).astype(np.float32))
    scores, names = index.search(queries, k=2)
    sims, ids = index.index.search(queries, index.index.ntotal)
    for i in range(len(queries)):
        row_score = dict(zip(ids[i].tolist(), (sims[i] - index.offsets[ids[i]]).tolist(), strict=True))
        for name, score in zip(names[i], scores[i], strict=True):
            mean_row = int(np.flatnonzero((index.labels == name) & index.is_mean)[0])
            assert np.isclose(score, row_score[mean_row], atol=1e-5)


def test_concurrent_searches_answer_as_one_search_alone() -> None:
    # a server's threads share one index: whitened ivfpq with means and offsets, 64 searches at once
    rng = np.random.default_rng(13)
    centres = l2_normalise(rng.normal(size=(40, 64)).astype(np.float32))
    labels = np.repeat([f"l{i:02d}" for i in range(40)], 30).astype(object)
    photos = l2_normalise(centres[np.repeat(np.arange(40), 30)] + 0.6 * rng.normal(size=(1200, 64)).astype(np.float32))
    params = dataclasses.replace(load_params(REPO / "params.yaml").index, whiten_dim=32, type="ivfpq", ivf_nlist=8,
                                 ivf_nprobe=8)
    index = build_index(photos, labels, params, "centroids")
    batches = [l2_normalise(rng.normal(size=(int(n), 64)).astype(np.float32)) for n in rng.integers(1, 9, 64)]
    alone = [index.search(b, k=3) for b in batches]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda b: index.search(b, k=3), batches))
    for (s1, n1), (s2, n2) in zip(alone, together, strict=True):
        assert n1.tolist() == n2.tolist()
        assert np.array_equal(s1, s2)
