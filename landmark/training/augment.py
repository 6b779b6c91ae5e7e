"""Training augmentations for user photos of landmarks, ending in the embedder's normalisation.

User photos are cropped, tilted, shot in odd light and sometimes blurred, so: random resized crop,
a mild perspective change, colour jitter, rare greyscale, rare blur. No horizontal flip: buildings
and their signs are not mirror-symmetric, and a mirrored facade is a different view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode

_INTERPOLATION = {
    "bicubic": InterpolationMode.BICUBIC,
    "bilinear": InterpolationMode.BILINEAR,
    "nearest": InterpolationMode.NEAREST,
}


def train_transform(data_config: dict[str, Any], image_size: int) -> Callable[[Image.Image], torch.Tensor]:
    """PIL RGB image -> (3, image_size, image_size) float tensor, augmented and normalised with the
    model's data config (mean, std, interpolation). Randomness comes from torch's RNG."""
    interpolation = _INTERPOLATION.get(
        str(data_config.get("interpolation", "bilinear")), InterpolationMode.BILINEAR
    )
    return T.Compose(
        [
            T.RandomResizedCrop(
                image_size, scale=(0.45, 1.0), ratio=(0.75, 1.333), interpolation=interpolation
            ),
            T.RandomPerspective(distortion_scale=0.25, p=0.3, interpolation=InterpolationMode.BILINEAR),
            T.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.25, hue=0.03),
            T.RandomGrayscale(p=0.05),
            T.RandomApply([T.GaussianBlur(kernel_size=5, sigma=(0.1, 1.5))], p=0.15),
            T.ToTensor(),
            T.Normalize(mean=tuple(data_config["mean"]), std=tuple(data_config["std"])),
        ]
    )
