"""Batches through timm's eval transform on a torch DataLoader: the preprocessing the pipeline
stages (clean, index, evaluate) embed with. `landmark.models.embedding.embed(preprocessing="timm")`
imports this module; the served path (numpy `Preprocessor`) never does, so it stays torch-free.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from landmark.data.images import load_rgb
from landmark.models.transforms import eval_transform

Photo = Image.Image | str | Path | bytes


class _PhotoDataset(Dataset):
    """(index, (3, H, W) tensor) per photo: a path or bytes decoded with load_rgb, a PIL image converted."""

    def __init__(self, photos: Sequence[Photo], transform) -> None:  # type: ignore[no-untyped-def]
        self.photos = list(photos)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor]:
        photo = self.photos[i]
        image = photo.convert("RGB") if isinstance(photo, Image.Image) else load_rgb(photo)
        return i, self.transform(image)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


def timm_batches(
    photos: Sequence[Photo],
    data_config: dict,
    batch_size: int,
    workers: int,
    image_size: int | None = None,
) -> Iterator[tuple[list[int], np.ndarray]]:
    """Yield (positions in `photos`, (B, 3, H, W) float32) in input order; workers: DataLoader
    processes (0 = decode in this process). Raises ImageDecodeError naming an undecodable file."""
    loader = DataLoader(
        _PhotoDataset(photos, eval_transform(data_config, image_size)),
        batch_size=batch_size,
        num_workers=workers,
        worker_init_fn=_worker_init if workers > 0 else None,
        shuffle=False,
    )
    for idx, batch in loader:
        yield [int(j) for j in idx], batch.numpy()
