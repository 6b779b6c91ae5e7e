"""Multi-scale and flip test-time embedding: the mean of the L2-normalised embeddings of a batch
resized by each scale (and mirrored left-right), re-normalised. The standard test-time trick of
image retrieval (e.g. scales 1, 1/sqrt(2), sqrt(2)); GeM / average pooling take any input size."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def rescale(x: torch.Tensor, scale: float) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 3, round(scale*H), round(scale*W)), bilinear (antialiased when shrinking)."""
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if scale == 1.0:
        return x
    size = (max(1, round(x.shape[-2] * scale)), max(1, round(x.shape[-1] * scale)))
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=scale < 1.0)


def views(x: torch.Tensor, scales: Sequence[float], flip: bool) -> list[torch.Tensor]:
    """The batches one multi-scale embedding averages: each scale, then (flip) each mirrored."""
    out = [rescale(x, s) for s in scales]
    return out + [v.flip(-1) for v in out] if flip else out


def multiscale_embed(model: nn.Module, x: torch.Tensor, scales: Sequence[float], flip: bool) -> torch.Tensor:
    """(B, 3, H, W) preprocessed batch -> (B, D) float32 L2-normalised: the mean of model(view) over
    views(x, scales, flip), each L2-normalised first, then normalised again. `model` returns (B, D)."""
    if not scales:
        raise ValueError("multi-scale embedding needs at least one scale")
    total = torch.zeros(0)
    for view in views(x, scales, flip):
        e = F.normalize(model(view.contiguous(memory_format=torch.channels_last)).float(), p=2.0, dim=1)
        total = e if total.numel() == 0 else total + e
    return F.normalize(total, p=2.0, dim=1)
