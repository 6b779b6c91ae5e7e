"""Batches: m photos per landmark, a fixed number of non-landmarks, deterministic from the seed."""

from __future__ import annotations

from collections import Counter

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
