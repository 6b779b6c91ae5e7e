"""Colour jitter as one affine colour map per photo: brightness, contrast, saturation and hue at once.

torchvision's ColorJitter on PIL images costs about 1 ms per 128 px photo on this CPU (hue goes
through HSV), half of all augmentation work, and on 2 cores the loader worker's time is taken from
the training step. Brightness, contrast (around the photo's mean grey), saturation (towards the
photo's grey) and a small hue rotation (in YIQ, which keeps luma) are all affine maps of RGB, so
their product is applied as one 3x3 matrix and an offset, fused with ToTensor and Normalize (one
OpenCV per-pixel affine `transform`): about 0.1 ms per 128 px photo, against 0.55 ms for ToTensor +
Normalize + the same jitter applied op by op.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import torch
from PIL import Image

LUMA_NP = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as torchvision's rgb_to_grayscale
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def colour_matrix(brightness: float, contrast: float, saturation: float, hue: float,
                  mean_grey: float) -> tuple[np.ndarray, np.ndarray]:
    """(3x3 matrix, 3-offset) of brightness -> contrast -> saturation -> hue for a photo whose mean
    grey is `mean_grey` (before brightness); hue is a fraction of a full turn."""
    eye = np.eye(3)
    grey = np.tile(LUMA_NP.astype(np.float64), (3, 1))  # every output channel = luma of the input
    # contrast: c * x + (1 - c) * mean grey of the brightened photo
    contrast_offset = np.full(3, (1.0 - contrast) * brightness * mean_grey)
    saturate = saturation * eye + (1.0 - saturation) * grey
    angle = -2.0 * math.pi * hue  # this sign turns hues the way HSV hue shifts do (red -> yellow)
    rotate = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(angle), -math.sin(angle)],
                       [0.0, math.sin(angle), math.cos(angle)]])
    colour = _YIQ_TO_RGB @ rotate @ _RGB_TO_YIQ @ saturate
    return colour * (contrast * brightness), colour @ contrast_offset


class ColourJitter:
    """The last augmentation step: PIL RGB image (or (H, W, 3) uint8 array) -> (3, H, W) float32 tensor,
    colour-jittered, clamped to [0, 1], then normalised with `mean` / `std` (ToTensor + jitter +
    Normalize in one pass). Factors are drawn uniformly from [1 - b, 1 + b], [1 - c, 1 + c],
    [1 - s, 1 + s] and hue from [-h, h] (fraction of a turn), with torch's RNG."""

    def __init__(self, brightness: float = 0.0, contrast: float = 0.0, saturation: float = 0.0,
                 hue: float = 0.0, mean: Sequence[float] = (0.0, 0.0, 0.0),
                 std: Sequence[float] = (1.0, 1.0, 1.0)) -> None:
        if not 0.0 <= hue <= 0.5:
            raise ValueError(f"hue must be in [0, 0.5], got {hue}")
        for name, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"mean and std need 3 values, std > 0; got {mean}, {std}")
        self.ranges = (brightness, contrast, saturation)
        self.hue = hue
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)

    def __call__(self, image: Image.Image | np.ndarray) -> torch.Tensor:
        pixels = np.asarray(image)
        if pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError(f"ColourJitter expects an RGB image (H, W, 3), got shape {pixels.shape}")
        if pixels.dtype != np.uint8:
            pixels = pixels.astype(np.float32)
        draws = torch.rand(4)
        b, c, s = (1.0 + r * (2.0 * float(u) - 1.0) for r, u in zip(self.ranges, draws[:3], strict=True))
        h = self.hue * (2.0 * float(draws[3]) - 1.0)
        mean_grey = float(LUMA_NP @ np.asarray(cv2.mean(pixels)[:3])) / 255.0
        matrix, offset = colour_matrix(b, c, s, h, mean_grey)
        # clamp to [0, 1] then normalise == clamp the normalised values to [(0 - mean) / std, (1 - mean) / std]
        scale = 1.0 / self.std
        affine = np.empty((3, 4), dtype=np.float32)
        affine[:, :3] = matrix * (scale / 255.0)[:, None]
        affine[:, 3] = (offset - self.mean) * scale
        mapped = cv2.split(cv2.transform(pixels.astype(np.float32, copy=False), affine))  # 3 x (H, W)
        out = np.empty((3, *pixels.shape[:2]), dtype=np.float32)
        for channel in range(3):
            np.clip(mapped[channel], -self.mean[channel] * scale[channel], (1.0 - self.mean[channel]) * scale[channel],
                    out=out[channel])
        return torch.from_numpy(out)

    def __repr__(self) -> str:
        return (f"ColourJitter(brightness={self.ranges[0]}, contrast={self.ranges[1]}, saturation={self.ranges[2]}, "
                f"hue={self.hue}, mean={self.mean.tolist()}, std={self.std.tolist()})")
