"""Multi-scale / flip test-time embedding: view sizes and the averaged, re-normalised result."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from landmark.models.multiscale import multiscale_embed, rescale, views


class HalfMeans(nn.Module):
    """(B, 3, H, W) -> (B, 2): mean of channel 0 over the left and over the right half."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = x.shape[-1] // 2
        return torch.stack([x[:, 0, :, :w].mean(dim=(1, 2)), x[:, 0, :, w:].mean(dim=(1, 2))], dim=1)


def left_lit(size: int) -> torch.Tensor:
    x = torch.zeros(1, 3, size, size)
    x[:, 0, :, : size // 2] = 1.0
    return x


def test_rescale_sizes_and_identity() -> None:
    x = torch.rand(2, 3, 10, 10)
    assert rescale(x, 1.414).shape == (2, 3, 14, 14)
    assert rescale(x, 0.707).shape == (2, 3, 7, 7)
    assert rescale(x, 1.0) is x
    with pytest.raises(ValueError, match="scale"):
        rescale(x, 0.0)
    assert len(views(x, (1.0, 0.707, 1.414), flip=True)) == 6


def test_flip_averages_the_mirrored_embedding() -> None:
    x = left_lit(8)
    plain = multiscale_embed(HalfMeans(), x, (1.0,), flip=False)
    torch.testing.assert_close(plain, torch.tensor([[1.0, 0.0]]))
    flipped = multiscale_embed(HalfMeans(), x, (1.0,), flip=True)  # (1, 0) + (0, 1), normalised
    torch.testing.assert_close(flipped, torch.tensor([[2**-0.5, 2**-0.5]]))


class SizeVector(nn.Module):
    """(B, 3, H, W) -> (B, 2) = (1, H): a direction that depends on the input size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([[1.0, float(x.shape[-2])]]).repeat(x.shape[0], 1)


def test_scales_average_normalised_embeddings_and_an_empty_scale_list_is_refused() -> None:
    out = multiscale_embed(SizeVector(), torch.zeros(1, 3, 4, 4), (1.0, 2.0), flip=False)
    # (1, 4) / sqrt(17) + (1, 8) / sqrt(65), normalised (a plain mean of (1, 4) and (1, 8) would differ)
    a, b = 1 / 17**0.5 + 1 / 65**0.5, 4 / 17**0.5 + 8 / 65**0.5
    torch.testing.assert_close(out, torch.tensor([[a, b]]) / (a * a + b * b) ** 0.5)
    with pytest.raises(ValueError, match="at least one scale"):
        multiscale_embed(SizeVector(), torch.zeros(1, 3, 4, 4), (), flip=False)
