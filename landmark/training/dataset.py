"""Photos + class indices as a torch Dataset; photos decoded with landmark.data.images.load_rgb."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from PIL import Image

from landmark.data.images import load_rgb


class PhotoDataset(torch.utils.data.Dataset[tuple[torch.Tensor, int]]):
    """Item i: (transform(load_rgb(root / paths[i])) as (3, H, W) float, labels[i]). Item (i, seed):
    the same with the transform's random draws seeded by `seed` (torch's RNG restored afterwards), so
    a photo's augmentation does not depend on which process or loader worker decodes it."""

    def __init__(
        self,
        root: Path,
        paths: Sequence[str],
        labels: Sequence[int],
        transform: Callable[[Image.Image], torch.Tensor],
    ) -> None:
        if len(paths) != len(labels):
            raise ValueError(f"{len(paths)} paths but {len(labels)} labels")
        self.root = Path(root)
        self.paths = list(paths)
        self.labels = [int(x) for x in labels]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        if isinstance(key, tuple):
            i, seed = key
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                return self.transform(load_rgb(self.root / self.paths[i])), self.labels[i]
        return self.transform(load_rgb(self.root / self.paths[key])), self.labels[key]


def background_worker(worker_id: int) -> None:
    """DataLoader worker_init_fn: run the loader worker at the lowest CPU priority.

    When the cores are all busy with the training step (CPU training on a small machine), a worker
    at normal priority preempts a torch thread in the middle of a parallel op and the other threads
    wait for it at the op's end, which costs more than the worker's own work. At nice 19 the worker
    fills the prefetch queue in the gaps between ops instead. On a GPU machine nothing changes: the
    cores are mostly idle there. Not cv2.setNumThreads here: in a worker forked after the parent ran
    OpenCV it deadlocks (tests/unit/test_augment_loader.py); OpenCV's threads inherit the priority.
    """
    import os

    try:
        os.nice(19 - os.nice(0))
    except OSError:  # pragma: no cover - a platform or sandbox that refuses: keep the priority
        pass
