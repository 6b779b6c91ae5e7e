"""Batches: m photos per landmark, a fixed number of non-landmarks, deterministic from the seed."""

from __future__ import annotations

from collections import Counter

import pytest

from landmark.training.sampler import LandmarkBatchSampler

LABELS = [0] * 10 + [1] * 8 + [2] * 8 + [3] * 3 + [4] * 12


def _batches(seed: int, epoch: int = 0) -> list[list[int]]:
    sampler = LandmarkBatchSampler(LABELS, batch_size=14, m_per_class=4, non_landmark_per_batch=2, seed=seed)
    sampler.set_epoch(epoch)
    return list(sampler)


def test_batches_hold_m_per_class_and_non_landmarks() -> None:
    batches = _batches(3)
    assert len(batches) == 3  # chunks of 4: 2 + 2 + 1 + 3 = 8, three classes a batch
    for batch in batches:
        counts = Counter(LABELS[i] for i in batch)
        assert counts[0] == 2
        assert len(batch) == 14
        assert all(n % 4 == 0 for c, n in counts.items() if c != 0)


def test_every_landmark_photo_is_seen_in_an_epoch() -> None:
    seen = {i for batch in _batches(5) for i in batch}
    assert all(i in seen for i, label in enumerate(LABELS) if label not in (0,))


def test_same_seed_same_batches_other_seed_or_epoch_differs() -> None:
    assert _batches(7) == _batches(7)
    assert _batches(7) != _batches(8)
    assert _batches(7, epoch=0) != _batches(7, epoch=1)


def _rank_batches(rank: int, world: int, seeded: bool = False) -> list[list]:
    sampler = LandmarkBatchSampler(LABELS, batch_size=14, m_per_class=2, non_landmark_per_batch=2, seed=4,
                                   rank=rank, world_size=world)
    sampler.set_epoch(1)
    return list(sampler.seeded() if seeded else sampler)


def test_ranks_share_every_global_batch_without_dropping_a_class() -> None:
    one = _rank_batches(0, 1)  # 6 classes of 2 + 2 non-landmarks a batch
    ranks = [_rank_batches(r, 2) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1]) == len(one)
    for b, batch in enumerate(one):
        parts = [ranks[r][b] for r in range(2)]
        assert [len(p) for p in parts] == [7, 7]
        assert sorted(parts[0] + parts[1]) == sorted(batch)  # together exactly the one-process batch
        for part in parts:  # each rank: whole classes (2 photos each) and one non-landmark
            counts = Counter(LABELS[i] for i in part)
            assert counts[0] == 1
            assert all(n % 2 == 0 for c, n in counts.items() if c != 0)
    seen = {LABELS[i] for rank in ranks for batch in rank for i in batch}
    assert seen == set(LABELS)


def test_a_photo_keeps_its_augmentation_seed_whatever_the_rank() -> None:
    one = _rank_batches(0, 1, seeded=True)
    for r in range(2):
        for batch, whole in zip(_rank_batches(r, 2, seeded=True), one, strict=True):
            assert set(batch) <= set(whole)
    assert len({seed for batch in one for _, seed in batch}) == sum(len(batch) for batch in one)


def test_a_batch_that_processes_cannot_share_evenly_is_refused() -> None:
    with pytest.raises(ValueError, match="3 classes a batch.*whole classes"):
        LandmarkBatchSampler(LABELS, batch_size=14, m_per_class=4, non_landmark_per_batch=2, seed=0,
                             rank=0, world_size=2)
    with pytest.raises(ValueError, match="not divisible by 4 processes"):
        LandmarkBatchSampler(LABELS, batch_size=14, m_per_class=2, non_landmark_per_batch=2, seed=0,
                             rank=0, world_size=4)
