"""The affine colour jitter against torchvision's functional colour ops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as F
from PIL import Image

from landmark.training.colour_jitter import LUMA_NP, ColourJitter, colour_matrix

LUMA = torch.from_numpy(LUMA_NP)


def _photo(seed: int = 0) -> torch.Tensor:
    """(3, 32, 32) in [0.3, 0.7]: no channel clips under the factors used below."""
    g = torch.Generator().manual_seed(seed)
    return 0.3 + 0.4 * torch.rand(3, 32, 32, generator=g)


def _apply(image: torch.Tensor, b: float, c: float, s: float, h: float) -> torch.Tensor:
    mean_grey = float(torch.tensordot(LUMA, image.mean(dim=(1, 2)), dims=1))
    matrix, offset = colour_matrix(b, c, s, h, mean_grey)
    colour = torch.tensordot(torch.from_numpy(matrix).float(), image, dims=1)
    return colour + torch.from_numpy(offset).float().view(3, 1, 1)


@pytest.mark.parametrize(("b", "c", "s"), [(1.2, 1.0, 1.0), (1.0, 0.75, 1.0), (1.0, 1.0, 0.8),
                                           (0.9, 1.2, 1.15), (1.1, 0.8, 0.9)])
def test_brightness_contrast_saturation_match_torchvision(b: float, c: float, s: float) -> None:
    image = _photo()
    expected = F.adjust_saturation(F.adjust_contrast(F.adjust_brightness(image, b), c), s)
    torch.testing.assert_close(_apply(image, b, c, s, 0.0), expected, atol=2e-3, rtol=0)


def test_hue_keeps_luma_and_is_close_to_torchvision() -> None:
    image = _photo(1)
    torch.testing.assert_close(_apply(image, 1.0, 1.0, 1.0, 0.0), image, atol=1e-5, rtol=0)
    shifted = _apply(image, 1.0, 1.0, 1.0, 0.03)
    luma = torch.tensordot(LUMA, image, dims=1)
    torch.testing.assert_close(torch.tensordot(LUMA, shifted, dims=1), luma, atol=1e-3, rtol=0)
    assert (shifted - image).abs().mean() > 1e-3  # it does change the colours
    # YIQ rotation and torchvision's HSV shift differ in detail, not in kind
    assert (shifted - F.adjust_hue(image, 0.03)).abs().mean() < 0.02


def test_jitter_fuses_to_tensor_and_normalise() -> None:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(60, 200, (20, 24, 3), dtype=np.uint8))
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    unchanged = ColourJitter(mean=mean, std=std)(image)  # all ranges 0: ToTensor + Normalize
    torch.testing.assert_close(unchanged, F.normalize(F.to_tensor(image), mean, std), atol=1e-5, rtol=0)
    jitter = ColourJitter(brightness=0.5, contrast=0.3, saturation=0.25, hue=0.03, mean=mean, std=std)
    torch.manual_seed(5)
    first = jitter(image)
    torch.manual_seed(5)
    assert torch.equal(first, jitter(image)) and first.shape == (3, 20, 24) and first.dtype == torch.float32
    pixels = first * torch.tensor(std).view(3, 1, 1) + torch.tensor(mean).view(3, 1, 1)
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5  # clamped to [0, 1] before normalising
    assert not torch.allclose(first, unchanged)
    with pytest.raises(ValueError, match="H, W, 3"):
        jitter(np.zeros((16, 16), np.uint8))
    with pytest.raises(ValueError, match="hue"):
        ColourJitter(hue=0.7)
    with pytest.raises(ValueError, match="brightness"):
        ColourJitter(brightness=1.5)
