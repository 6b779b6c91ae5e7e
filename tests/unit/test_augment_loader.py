"""The training augmentations through a DataLoader worker, as the trainer runs them.

Regression: the worker is forked after the parent process has run OpenCV (here: one augmented photo in
the parent first); OpenCV calls in the worker must not deadlock (cv2.setNumThreads in a forked worker
did).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from landmark.training.augment import train_transform
from landmark.training.dataset import PhotoDataset, background_worker

CONFIG = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def test_worker_forked_after_opencv_in_the_parent_delivers_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
        paths.append(f"{i}.png")
    transform = train_transform(CONFIG, 64)
    torch.manual_seed(0)
    photo = Image.open(tmp_path / paths[0]).convert("RGB")
    in_parent = [transform(photo) for _ in range(20)]  # OpenCV (and its thread pool) runs in this process
    assert in_parent[0].shape == (3, 64, 64) and in_parent[0].dtype == torch.float32
    dataset = PhotoDataset(tmp_path, paths, list(range(8)), transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=1, worker_init_fn=background_worker,
                                         prefetch_factor=2, timeout=60)  # a hang fails after 60 s
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(4, 3, 64, 64)] * 2
    assert all(torch.isfinite(b[0]).all() for b in batches)
