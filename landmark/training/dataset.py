"""Photos + class indices as a torch Dataset; photos decoded with landmark.data.images.load_rgb."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from PIL import Image

from landmark.data.images import load_rgb


class PhotoDataset(torch.utils.data.Dataset[tuple[torch.Tensor, int]]):
    """Item i: (transform(load_rgb(root / paths[i])) as (3, H, W) float, labels[i])."""

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

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(load_rgb(self.root / self.paths[i])), self.labels[i]
