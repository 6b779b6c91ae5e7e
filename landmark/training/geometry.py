"""Random resized crop and perspective tilt in one resampling of the photo.

torchvision's RandomResizedCrop then RandomPerspective resample the photo twice (about 0.55 ms per
128 px photo here). A crop-and-scale is an affine map and a perspective map composed with an affine
map is still a perspective map, so both are one OpenCV `warpPerspective` (or, without tilt, one
`resize` of the crop): 0.04-0.2 ms per 128 px photo instead of PIL's 0.15-0.45 ms, which matters on 2
cores where the loader worker shares the CPU with training. Same random parameters as torchvision's
(`get_params`, torch's RNG), so the distribution of views is unchanged. One difference: where the tilt
looks beyond the crop, the photo around the crop shows instead of torchvision's black fill (black only
beyond the photo). Images are (H, W, 3) uint8 arrays (a PIL image is taken as one).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T

INTERPOLATION = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "nearest": cv2.INTER_NEAREST}
# PIL samples pixel centres at +0.5, OpenCV at integers: conjugate PIL's map by that half-pixel shift
_TO_CENTRES = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
_FROM_CENTRES = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])


def perspective_coeffs(startpoints: Sequence[Sequence[float]], endpoints: Sequence[Sequence[float]]) -> list[float]:
    """(a, b, c, d, e, f, g, h) mapping each of the 4 `endpoints` to its `startpoint` by
    (x, y) -> ((ax + by + c) / (gx + hy + 1), (dx + ey + f) / (gx + hy + 1)): torchvision's
    perspective coefficients (its private `_get_perspective_coeffs`), from an 8 x 8 solve in numpy."""
    if len(startpoints) != 4 or len(endpoints) != 4:
        raise ValueError(f"need four corners, got {len(startpoints)} startpoints and {len(endpoints)} endpoints")
    system = np.zeros((8, 8))
    for i, ((x, y), (u, v)) in enumerate(zip(endpoints, startpoints, strict=True)):
        system[2 * i] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
        system[2 * i + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
    return [float(c) for c in np.linalg.solve(system, np.asarray(startpoints, dtype=np.float64).ravel())]


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
        a, b, c, d, e, f, g, h = perspective_coeffs(startpoints, endpoints)
    sx, sy = width / size, height / size
    return [a * sx + left * g, b * sx + left * h, c * sx + left, d * sy + top * g, e * sy + top * h, f * sy + top,
            g, h]


def warp_perspective(pixels: np.ndarray, coeffs: Sequence[float], size: int,
                     interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8: PIL's `transform(PERSPECTIVE, coeffs)` (output pixel ->
    source pixel, black beyond the photo) done by OpenCV."""
    pil_map = np.append(np.asarray(coeffs, dtype=np.float64), 1.0).reshape(3, 3)
    return cv2.warpPerspective(pixels, _FROM_CENTRES @ pil_map @ _TO_CENTRES, (size, size),
                               flags=interpolation | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=(0, 0, 0))


class RandomCropPerspective:
    """(H, W, 3) uint8 array or PIL image -> (size, size, 3) uint8 array: a random resized crop (scale,
    ratio as torchvision's), tilted with probability p by a random perspective of `distortion` (as
    torchvision's), in one resampling. A crop shrunk to size uses area interpolation (no aliasing)."""

    def __init__(self, size: int, scale: tuple[float, float] = (0.45, 1.0), ratio: tuple[float, float] = (0.75, 4 / 3),
                 distortion: float = 0.25, p: float = 0.3, interpolation: str = "bilinear") -> None:
        if interpolation not in INTERPOLATION:
            raise ValueError(f"interpolation must be one of {sorted(INTERPOLATION)}, got {interpolation!r}")
        if not 0.0 <= p <= 1.0 or not 0.0 <= distortion <= 1.0:
            raise ValueError(f"p and distortion must be in [0, 1], got {p}, {distortion}")
        self.size, self.scale, self.ratio = int(size), scale, ratio
        self.distortion, self.p, self.interpolation = distortion, p, INTERPOLATION[interpolation]

    def __call__(self, image: Image.Image | np.ndarray) -> np.ndarray:
        pixels = np.asarray(image, dtype=np.uint8)
        if pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError(f"RandomCropPerspective expects an RGB image (H, W, 3), got shape {pixels.shape}")
        shape_only = torch.empty(1).expand(3, *pixels.shape[:2])  # get_params reads the size only
        top, left, height, width = T.RandomResizedCrop.get_params(shape_only, list(self.scale), list(self.ratio))
        if float(torch.rand(1)) < self.p:
            start, end = T.RandomPerspective.get_params(self.size, self.size, self.distortion)
            coeffs = crop_perspective_coeffs((top, left, height, width), self.size, start, end)
            return warp_perspective(pixels, coeffs, self.size, self.interpolation)
        crop = pixels[top:top + height, left:left + width]
        shrink = height > self.size and width > self.size
        return cv2.resize(crop, (self.size, self.size), interpolation=cv2.INTER_AREA if shrink else self.interpolation)

    def __repr__(self) -> str:
        return (f"RandomCropPerspective(size={self.size}, scale={self.scale}, ratio={self.ratio}, "
                f"distortion={self.distortion}, p={self.p})")

