"""One-resampling crop + tilt against torchvision's two-step RandomResizedCrop + perspective, and the
OpenCV resampling against PIL's with the same coefficients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as F
from PIL import Image, ImageFilter

from landmark.training.geometry import (
    RandomCropPerspective,
    crop_perspective_coeffs,
    perspective_coeffs,
    warp_perspective,
)


def _photo() -> Image.Image:
    rng = np.random.default_rng(0)
    # smooth content, so that one vs two resamplings differ little
    return Image.fromarray(rng.integers(0, 256, (96, 120, 3), dtype=np.uint8)).filter(ImageFilter.GaussianBlur(4))


def _diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean())


def test_crop_without_tilt_is_torchvision_resized_crop() -> None:
    image, box = _photo(), (10, 20, 60, 80)
    ours = image.transform((64, 64), Image.Transform.PERSPECTIVE, crop_perspective_coeffs(box, 64),
                           Image.Resampling.BILINEAR)
    reference = F.resized_crop(image, *box, [64, 64], interpolation=F.InterpolationMode.BILINEAR, antialias=True)
    assert _diff(ours, reference) < 2.0  # grey levels out of 255


def test_crop_then_tilt_matches_the_two_step_version() -> None:
    image, box = _photo(), (5, 10, 80, 90)
    start = [[0, 0], [63, 0], [63, 63], [0, 63]]
    end = [[6, 3], [60, 8], [58, 62], [2, 57]]
    ours = image.transform((64, 64), Image.Transform.PERSPECTIVE, crop_perspective_coeffs(box, 64, start, end),
                           Image.Resampling.BILINEAR)
    two_step = F.perspective(F.resized_crop(image, *box, [64, 64], antialias=True), start, end,
                             interpolation=F.InterpolationMode.BILINEAR)
    # where the two-step version has photo, the same pixels; where it fills black (tilted beyond the
    # crop), ours shows the photo around the crop instead
    inside = np.asarray(two_step).sum(axis=2) > 0
    assert 0.5 < inside.mean() < 1.0
    assert np.abs(np.asarray(ours, np.float32) - np.asarray(two_step, np.float32))[inside].mean() < 1.0
    assert _diff(ours, F.resized_crop(image, *box, [64, 64], antialias=True)) > 3.0  # the tilt does show


def test_random_crop_perspective_is_seeded_and_sized() -> None:
    augment = RandomCropPerspective(48, p=0.5)
    torch.manual_seed(3)
    first = [augment(_photo()) for _ in range(6)]
    torch.manual_seed(3)
    again = [augment(np.asarray(_photo())) for _ in range(6)]  # a PIL image or its array: the same
    assert all(a.shape == (48, 48, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
               for a, b in zip(first, again, strict=True))
    assert len({a.tobytes() for a in first}) == 6
    with pytest.raises(ValueError, match="RGB"):
        augment(np.zeros((8, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match="interpolation"):
        RandomCropPerspective(48, interpolation="lanczos")
    with pytest.raises(ValueError, match="p and distortion"):
        RandomCropPerspective(48, p=1.5)


def test_perspective_coeffs_are_torchvisions() -> None:
    start = [[0, 0], [63, 0], [63, 63], [0, 63]]
    end = [[6, 3], [60, 8], [58, 62], [2, 57]]
    assert np.allclose(perspective_coeffs(start, end), F._get_perspective_coeffs(start, end), atol=1e-4)
    with pytest.raises(ValueError, match="four corners"):
        perspective_coeffs(start[:3], end)


@pytest.mark.parametrize("tilt", [False, True])
def test_opencv_warp_is_pils_transform(tilt: bool) -> None:
    image, box = _photo(), (5, 10, 80, 90)
    start, end = ([[0, 0], [63, 0], [63, 63], [0, 63]], [[6, 3], [60, 8], [58, 62], [2, 57]]) if tilt else (None, None)
    coeffs = crop_perspective_coeffs(box, 64, start, end)
    pil = image.transform((64, 64), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    ours = warp_perspective(np.asarray(image), coeffs, 64)
    assert ours.shape == (64, 64, 3) and ours.dtype == np.uint8
    assert _diff(Image.fromarray(ours), pil) < 1.0  # grey levels out of 255: rounding, not geometry
