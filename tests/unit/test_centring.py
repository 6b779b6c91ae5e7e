"""Impostor centring: each centroid's offset is its mean similarity to other landmarks' photos, the
index subtracts it and re-ranks, and the offsets survive save/load."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from landmark.params import load_params
from landmark.retrieval.build import build_index
from landmark.retrieval.centring import impostor_means
from landmark.retrieval.centroids import l2_normalise
from landmark.retrieval.index import CentroidIndex

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
