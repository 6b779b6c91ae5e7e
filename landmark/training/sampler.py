"""Batches of m photos per landmark plus a fixed number of non-landmark photos, deterministic from a seed.

Each batch holds `batch_size - non_landmark_per_batch` landmark photos, `m_per_class` from each of
several landmarks (drawn with replacement when a landmark has fewer than m photos), and
`non_landmark_per_batch` non-landmark photos. One epoch covers every landmark photo about once.
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
        self.classes_per_batch = max(1, (batch_size - self.n_nl) // self.m)
        self.seed = seed
        self.epoch = 0
        n_chunks = sum(max(1, int(np.ceil(len(v) / self.m))) for v in self.by_class.values())
        self.n_batches = max(1, int(np.ceil(n_chunks / self.classes_per_batch)))

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order `__iter__` yields (same seed + epoch -> same batches)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self) -> Iterator[list[int]]:
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
