"""Rare photometric augmentations on (H, W, 3) uint8 arrays, in OpenCV: greyscale and Gaussian blur.

Same behaviour and random draws (torch's RNG) as torchvision's RandomGrayscale and
RandomApply([GaussianBlur]) on PIL images, at a fraction of the cost: torchvision blurs a PIL image by
converting it to a tensor and back (about 0.9 ms per 128 px photo here; OpenCV 0.04 ms).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch


class RandomGrey:
    """With probability p: the photo in greys (ITU-R 601 luma, as PIL's "L"), still 3 channels."""

    def __init__(self, p: float = 0.05) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        if float(torch.rand(1)) >= self.p:
            return pixels
        return cv2.cvtColor(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)

    def __repr__(self) -> str:
        return f"RandomGrey(p={self.p})"


class RandomBlur:
    """With probability p: a Gaussian blur with a `kernel` x `kernel` window and sigma drawn uniformly
    from `sigma` (reflected borders, as torchvision's GaussianBlur)."""

    def __init__(self, p: float = 0.15, kernel: int = 5, sigma: tuple[float, float] = (0.1, 1.5)) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel must be odd and positive, got {kernel}")
        if not 0.0 < sigma[0] <= sigma[1]:
            raise ValueError(f"sigma must be a range 0 < low <= high, got {sigma}")
        self.p, self.kernel, self.sigma = p, kernel, sigma

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        if float(torch.rand(1)) >= self.p:
            return pixels
        sigma = float(torch.empty(1).uniform_(self.sigma[0], self.sigma[1]))
        return cv2.GaussianBlur(pixels, (self.kernel, self.kernel), sigmaX=sigma, sigmaY=sigma,
                                borderType=cv2.BORDER_REFLECT_101)

    def __repr__(self) -> str:
        return f"RandomBlur(p={self.p}, kernel={self.kernel}, sigma={self.sigma})"
