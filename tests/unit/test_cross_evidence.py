"""Cross-landmark neighbour evidence against a brute-force computation, and on a moved photo."""

from __future__ import annotations

import numpy as np
import pytest

from landmark.cleaning.cross_evidence import evidence_and_rival, mutual_confusion, neighbour_evidence
from landmark.cleaning.second_pass import second_pass_keep


def _brute(emb: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    names = np.unique(labels)
    per = np.stack([np.sort(sims[:, labels == n], axis=1)[:, -k:].mean(axis=1) for n in names], axis=1)
    own_col = np.searchsorted(names, labels)
    own = per[np.arange(len(labels)), own_col].copy()
    per[np.arange(len(labels)), own_col] = -np.inf
    return per.max(axis=1) - own


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_matches_brute_force_when_the_pool_holds_everything() -> None:
    rng = np.random.default_rng(0)
    emb = _unit(rng.normal(size=(300, 16)))
    labels = rng.choice(np.array(["a", "b", "c", "d"]), 300)
    np.testing.assert_allclose(neighbour_evidence(emb, labels, k=5, pool=299), _brute(emb, labels, 5), atol=1e-5)
    approx = neighbour_evidence(emb, labels, k=5, pool=40)  # the default path: a pool of nearest photos
    assert np.corrcoef(approx, _brute(emb, labels, 5))[0, 1] > 0.95


def test_a_moved_photo_has_positive_evidence_and_the_others_negative() -> None:
    rng = np.random.default_rng(1)
    centres = _unit(rng.normal(size=(3, 32)))
    emb = _unit(np.repeat(centres, 20, axis=0) + 0.15 * rng.normal(size=(60, 32)))
    labels = np.repeat(np.array(["a", "b", "c"]), 20)
    labels[5] = "b"  # a photo of a filed under b
    evidence = neighbour_evidence(emb, labels, k=5)
    assert evidence[5] > 0.3
    assert np.all(np.delete(evidence, 5) < 0)


def test_edge_cases() -> None:
    assert neighbour_evidence(np.ones((1, 4), np.float32), np.array(["a"])).shape == (1,)
    emb = _unit(np.random.default_rng(2).normal(size=(6, 4)))
    assert np.all(neighbour_evidence(emb, np.array(["a"] * 6), k=2) <= 0)  # one landmark: none closer
    with pytest.raises(ValueError, match="labels"):
        neighbour_evidence(emb, np.array(["a"] * 5))
    with pytest.raises(ValueError, match="k must"):
        neighbour_evidence(emb, np.array(["a"] * 6), k=0)




def test_second_pass_removes_a_moved_photo_but_never_empties_a_landmark() -> None:
    rng = np.random.default_rng(3)
    axes = np.eye(6, dtype=np.float32)
    a = _unit(axes[0] + 0.05 * rng.standard_normal((8, 6)))
    b = _unit(axes[1] + 0.05 * rng.standard_normal((7, 6)))
    moved = _unit(axes[0:1] + 0.05 * rng.standard_normal((1, 6)))  # a photo of a filed under b
    c = _unit(axes[0] + 0.3 * axes[2] + 0.02 * rng.standard_normal((2, 6)))  # c's only photos look like a's
    emb = np.concatenate([a, b, moved, c])
    labels = np.array(["a"] * 8 + ["b"] * 8 + ["c"] * 2)
    keep, evidence = second_pass_keep([emb, emb], labels, k=2, margin=0.0)
    assert not keep[15] and evidence[15] > 0
    assert keep[:15].all()
    assert keep[16:].all() and (evidence[16:] > 0).all()  # c would lose everything: it keeps its photos


def test_rival_is_the_landmark_whose_photos_are_closest() -> None:
    rng = np.random.default_rng(5)
    emb = _unit(rng.standard_normal((120, 8)))
    labels = np.array([f"l{i % 5}" for i in range(120)])
    evidence, rival = evidence_and_rival(emb, labels, k=3, pool=119)
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    names = np.unique(labels)
    per = np.stack([np.sort(sims[:, labels == n], axis=1)[:, -3:].mean(axis=1) for n in names], axis=1)
    per[np.arange(120), np.searchsorted(names, labels)] = -np.inf
    assert (rival == names[per.argmax(axis=1)]).all()
    assert np.allclose(evidence, neighbour_evidence(emb, labels, k=3, pool=119))


def test_mutual_confusion_spares_look_alikes_not_one_way_mislabels() -> None:
    labels = np.array(["a"] * 10 + ["b"] * 10 + ["c"] * 10)
    flagged = np.zeros(30, dtype=bool)
    rival = np.full(30, "", dtype=object)
    flagged[[0, 1, 2]], rival[[0, 1, 2]] = True, "b"  # a <-> b: 30% each way: look-alikes
    flagged[[10, 11, 12]], rival[[10, 11, 12]] = True, "a"
    flagged[[20, 21, 22]], rival[[20, 21, 22]] = True, "a"  # c -> a only: mislabelled photos
    spared = mutual_confusion(labels, flagged, rival, min_share=0.2)
    assert spared.tolist() == [True] * 3 + [False] * 7 + [True] * 3 + [False] * 17
    assert not mutual_confusion(labels, flagged, rival, min_share=0.4).any()  # 30% < 40%
    assert not mutual_confusion(labels, flagged, rival, min_share=0.0).any()  # 0 = off
