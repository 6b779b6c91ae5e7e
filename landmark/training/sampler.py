"""Batches of m photos per landmark plus a fixed number of non-landmark photos, deterministic from a seed.

Each batch holds `batch_size - non_landmark_per_batch` landmark photos, `m_per_class` from each of
several landmarks (drawn with replacement when a landmark has fewer than m photos), and
`non_landmark_per_batch` non-landmark photos. One epoch covers every landmark photo about once.

Multi-process training (`world_size` > 1): every rank builds the same global batches from the same
seed and epoch and keeps its slice of each: `classes_per_batch / world_size` whole classes (m photos
each) and `non_landmark_per_batch / world_size` non-landmark photos. The ranks' slices together are
exactly the one-process batch, so no class is dropped and the global batch does not change.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch.utils.data


class LandmarkBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Yields lists of dataset indices; `set_epoch(e)` changes the order reproducibly."""

    def __init__(
        self,
        labels: Sequence[int],
        batch_size: int,
        m_per_class: int,
        non_landmark_per_batch: int,
        seed: int,
        non_landmark_label: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        labels_arr = np.asarray(labels, dtype=np.int64)
        self.non_landmark = np.flatnonzero(labels_arr == non_landmark_label)
        self.by_class = {
            int(c): np.flatnonzero(labels_arr == c) for c in np.unique(labels_arr) if c != non_landmark_label
        }
        if not self.by_class:
            raise ValueError("the sampler needs at least one landmark photo")
        self.n_nl = non_landmark_per_batch if len(self.non_landmark) else 0
        self.m = max(1, m_per_class)
        self.classes_per_batch = classes_per_batch(batch_size, self.m, self.n_nl)
        self.seed = seed
        self.epoch = 0
        n_chunks = sum(max(1, int(np.ceil(len(v) / self.m))) for v in self.by_class.values())
        self.n_batches = max(1, int(np.ceil(n_chunks / self.classes_per_batch)))
        check_shardable(batch_size, self.m, self.n_nl, self.classes_per_batch, world_size)
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside 0..{world_size - 1}")
        self.rank, self.world_size = rank, world_size

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order `__iter__` yields (same seed + epoch -> same batches)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self) -> Iterator[list[int]]:
        positions = self._positions()
        for picked in self._global_batches():
            yield [picked[p] for p in positions]

    def seeded(self) -> Iterator[list[tuple[int, int]]]:
        """This rank's batches as (dataset index, augmentation seed) pairs. A photo's seed depends on
        (seed, epoch, batch, its place in the global batch) only, so its augmentation is the same
        whatever the number of processes or loader workers (PhotoDataset seeds the transform with it)."""
        positions = self._positions()
        for b, picked in enumerate(self._global_batches()):
            seeds = np.random.SeedSequence([self.seed, self.epoch, b]).generate_state(len(picked), np.uint64)
            yield [(picked[p], int(seeds[p])) for p in positions]

    def _positions(self) -> list[int]:
        """This rank's places in a global batch: its share of the classes, then of the non-landmarks."""
        n_landmark = self.classes_per_batch * self.m
        per_l, per_nl = n_landmark // self.world_size, self.n_nl // self.world_size
        return [*range(self.rank * per_l, (self.rank + 1) * per_l),
                *range(n_landmark + self.rank * per_nl, n_landmark + (self.rank + 1) * per_nl)]

    def _global_batches(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        # chunks of m photos per class, each class's photos shuffled and cycled
        chunks: list[np.ndarray] = []
        for c in sorted(self.by_class):
            idx = rng.permutation(self.by_class[c])
            n_chunks = max(1, int(np.ceil(len(idx) / self.m)))
            take = (
                np.resize(idx, n_chunks * self.m)
                if len(idx) >= self.m
                else rng.choice(idx, n_chunks * self.m)
            )
            chunks.extend(take.reshape(n_chunks, self.m))
        order = rng.permutation(len(chunks))
        nl_order = rng.permutation(self.non_landmark) if self.n_nl else np.empty(0, dtype=np.int64)
        nl_pos = 0
        for b in range(self.n_batches):
            picked: list[int] = []
            start = b * self.classes_per_batch
            for k in range(start, start + self.classes_per_batch):
                chunk = chunks[order[k % len(order)]]
                picked.extend(int(i) for i in chunk)
            for _ in range(self.n_nl):
                if nl_pos >= len(nl_order):
                    nl_order, nl_pos = rng.permutation(self.non_landmark), 0
                picked.append(int(nl_order[nl_pos]))
                nl_pos += 1
            yield picked


class SeededBatches(torch.utils.data.Sampler[list[tuple[int, int]]]):
    """A LandmarkBatchSampler's batches with an augmentation seed per photo (`seeded()`), as the
    DataLoader's batch_sampler over a PhotoDataset."""

    def __init__(self, sampler: LandmarkBatchSampler) -> None:
        self.sampler = sampler

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        return self.sampler.seeded()


def classes_per_batch(batch_size: int, m_per_class: int, non_landmark_per_batch: int) -> int:
    """Landmarks in one batch: m_per_class photos each, beside the non-landmark photos (at least 1)."""
    return max(1, (batch_size - non_landmark_per_batch) // max(1, m_per_class))


def check_shardable(batch_size: int, m: int, n_nl: int, classes_per_batch: int, world_size: int) -> None:
    """Raise ValueError unless `world_size` processes can share a global batch evenly: whole classes
    (m photos each) and non-landmark photos alike, so every rank's batch has the same size and mix."""
    if world_size < 1:
        raise ValueError(f"train.processes must be >= 1, got {world_size}")
    if world_size == 1:
        return
    where = (f"train.batch_size {batch_size} (m_per_class {m}, non_landmark_per_batch {n_nl}: "
             f"{classes_per_batch} classes a batch)")
    if batch_size % world_size:
        raise ValueError(f"{where} is not divisible by {world_size} processes")
    if classes_per_batch % world_size:
        raise ValueError(f"{where}: {world_size} processes cannot each take whole classes of m_per_class "
                         f"photos; make the classes a batch a multiple of {world_size}")
    if n_nl % world_size:
        raise ValueError(f"{where}: non_landmark_per_batch is not divisible by {world_size} processes")
