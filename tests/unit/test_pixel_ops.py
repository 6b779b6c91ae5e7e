"""OpenCV greyscale and blur against torchvision's on PIL images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as F
from PIL import Image, ImageFilter

from landmark.training.pixel_ops import RandomBlur, RandomGrey


def _photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).filter(ImageFilter.GaussianBlur(2))
    return np.asarray(image)


def test_grey_is_pils_luma_on_three_channels() -> None:
    pixels = _photo()
    grey = RandomGrey(p=1.0)(pixels)
    expected = np.asarray(F.rgb_to_grayscale(Image.fromarray(pixels), num_output_channels=3))
    assert grey.shape == pixels.shape and np.abs(grey.astype(int) - expected.astype(int)).max() <= 1
    assert RandomGrey(p=0.0)(pixels) is pixels


def test_blur_matches_torchvision_and_is_seeded() -> None:
    pixels = _photo()
    torch.manual_seed(0)
    ours = RandomBlur(p=1.0, kernel=5, sigma=(1.2, 1.2))(pixels)
    expected = np.asarray(F.gaussian_blur(Image.fromarray(pixels), [5, 5], [1.2, 1.2]))
    assert np.abs(ours.astype(float) - expected.astype(float)).mean() < 0.6
    assert np.abs(ours.astype(float) - pixels.astype(float)).mean() > 1.0  # it does blur
    blur = RandomBlur(p=0.5)
    torch.manual_seed(1)
    first = [blur(pixels) for _ in range(8)]
    torch.manual_seed(1)
    assert all(np.array_equal(a, blur(pixels)) for a in first)
    assert 0 < sum(a is pixels for a in first) < 8  # some blurred, some not


@pytest.mark.parametrize(("kwargs", "match"), [({"p": 2.0}, "p must"), ({"kernel": 4}, "kernel"),
                                               ({"sigma": (0.0, 1.0)}, "sigma")])
def test_blur_rejects_bad_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RandomBlur(**kwargs)
