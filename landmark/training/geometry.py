"""Random resized crop and perspective tilt in one resampling of the photo.

torchvision's RandomResizedCrop then RandomPerspective resample the photo twice (about 0.55 ms per
128 px photo here). A crop-and-scale is an affine map and a perspective map composed with an affine
map is still a perspective map, so both are done by one PIL `transform` (or, without tilt, one
`resize` with a source box). Same random parameters as torchvision's (`get_params`), so the
distribution of views is unchanged. One difference: where the tilt looks beyond the crop, the
photo around the crop shows instead of torchvision's black fill (black only beyond the photo).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torchvision.transforms.functional as F
from PIL import Image
from torchvision import transforms as T

RESAMPLE = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
            "nearest": Image.Resampling.NEAREST}


def crop_perspective_coeffs(box: tuple[int, int, int, int], size: int,
                            startpoints: Sequence[Sequence[int]] | None = None,
                            endpoints: Sequence[Sequence[int]] | None = None) -> list[float]:
    """PIL PERSPECTIVE coefficients (output pixel -> source pixel) for: crop `box` = (top, left,
    height, width) of the source, scaled to size x size, then torchvision's perspective from
    `startpoints` to `endpoints` (in the size x size frame); identity tilt when they are None."""
    top, left, height, width = box
    if startpoints is None or endpoints is None:
        a, b, c, d, e, f, g, h = 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0
    else:  # torchvision's own solver: maps an output pixel to the pre-tilt (cropped and scaled) frame
        a, b, c, d, e, f, g, h = F._get_perspective_coeffs(list(map(list, startpoints)), list(map(list, endpoints)))
    sx, sy = width / size, height / size
    return [a * sx + left * g, b * sx + left * h, c * sx + left, d * sy + top * g, e * sy + top * h, f * sy + top,
            g, h]


class RandomCropPerspective:
    """PIL image -> size x size PIL image: a random resized crop (scale, ratio as torchvision's), tilted
    with probability p by a random perspective of `distortion` (as torchvision's), in one resampling."""

    def __init__(self, size: int, scale: tuple[float, float] = (0.45, 1.0), ratio: tuple[float, float] = (0.75, 4 / 3),
                 distortion: float = 0.25, p: float = 0.3, interpolation: str = "bilinear") -> None:
        if interpolation not in RESAMPLE:
            raise ValueError(f"interpolation must be one of {sorted(RESAMPLE)}, got {interpolation!r}")
        if not 0.0 <= p <= 1.0 or not 0.0 <= distortion <= 1.0:
            raise ValueError(f"p and distortion must be in [0, 1], got {p}, {distortion}")
        self.size, self.scale, self.ratio = int(size), scale, ratio
        self.distortion, self.p, self.resample = distortion, p, RESAMPLE[interpolation]

    def __call__(self, image: Image.Image) -> Image.Image:
        top, left, height, width = T.RandomResizedCrop.get_params(image, list(self.scale), list(self.ratio))
        if float(torch.rand(1)) < self.p:
            start, end = T.RandomPerspective.get_params(self.size, self.size, self.distortion)
            coeffs = crop_perspective_coeffs((top, left, height, width), self.size, start, end)
            return image.transform((self.size, self.size), Image.Transform.PERSPECTIVE, coeffs, self.resample)
        return image.resize((self.size, self.size), self.resample, box=(left, top, left + width, top + height))

    def __repr__(self) -> str:
        return (f"RandomCropPerspective(size={self.size}, scale={self.scale}, ratio={self.ratio}, "
                f"distortion={self.distortion}, p={self.p})")
