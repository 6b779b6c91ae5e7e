"""Generalised-mean (GeM) pooling, as a function and as a module with a learnable exponent.

GeM (Radenovic et al.): ``(mean(x.clamp(eps) ** p)) ** (1/p)`` over the spatial axes; p = 1 is average
pooling, p -> inf is max pooling.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gem(x: torch.Tensor, p: torch.Tensor | float = 3.0, eps: float = 1e-6) -> torch.Tensor:
    """GeM-pool a feature map.

    x: (N, C, h, w) float -> (N, C) float.
    """
    if x.dim() != 4:
        raise ValueError(f"gem expects (N, C, h, w), got shape {tuple(x.shape)}")
    pooled = F.avg_pool2d(x.clamp(min=eps).pow(p), (x.size(-2), x.size(-1)))
    return pooled.pow(1.0 / p).flatten(1)


class GeM(nn.Module):
    """GeM pooling with a learnable exponent p: (N, C, h, w) -> (N, C)."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6, learnable: bool = True) -> None:
        super().__init__()
        if p <= 0:
            raise ValueError(f"GeM exponent p must be > 0, got {p}")
        self.p = nn.Parameter(torch.ones(1) * p, requires_grad=learnable)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gem(x, p=self.p, eps=self.eps)

    def extra_repr(self) -> str:
        return f"p={float(self.p.detach()):.4f}, eps={self.eps}"


class AvgPool(nn.Module):
    """Global average pooling: (N, C, h, w) -> (N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(-2, -1))
