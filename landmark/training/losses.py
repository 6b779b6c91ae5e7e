"""The paper's modified centre loss and the loss variants selected by `train.loss`.

Boiarov & Tyantov (arXiv 1908.10192): total = softmax cross-entropy over (landmark classes + one
non-landmark class) + lambda * centre loss, where the centre term is taken over landmark photos only,
because non-landmark photos have no common look and get no centre. Centres are not trained by the
optimizer; they follow Wen et al. (ECCV 2016): for every class j seen in the batch,
    c_j <- c_j - alpha * sum_{i: y_i = j} (c_j - x_i) / (1 + n_j).

Class index 0 is always the non-landmark class (see head.py). The centre term acts on the
L2-normalised embedding, the space the index searches with cosine similarity.

ArcFace variants (pytorch-metric-learning) treat non-landmark photos as one more class (index 0);
with sub-center ArcFace that class can spread over `subcenters` directions. PML takes the margin in
degrees: `train.arcface_margin` is in radians (the Kaggle convention) and is converted here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses as pml_losses

from landmark.training.head import GrowingHead

NON_LANDMARK_INDEX = 0
LOSSES = ("softmax", "softmax_centre", "arcface", "subcenter_arcface")


@dataclass
class LossParts:
    """One batch's loss: `total` carries the gradient, the rest are detached floats for metrics."""

    total: torch.Tensor
    ce: float
    centre: float
    logits: torch.Tensor  # (N, C) scores used for accuracy


def centre_loss(embeddings: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Centre loss over landmark photos only: (1 / (2 n_L)) * sum_{i: y_i != 0} ||x_i - c_{y_i}||^2.

    embeddings: (N, D); labels: (N,) int64, 0 = non-landmark; centres: (C, D), row 0 unused.
    Returns a scalar; exactly 0 (with a zero gradient) when the batch holds no landmark photo.
    """
    mask = labels != NON_LANDMARK_INDEX
    n_landmark = int(mask.sum())
    if n_landmark == 0:
        return embeddings.sum() * 0.0
    diff = embeddings[mask] - centres[labels[mask]].detach()
    return 0.5 * (diff * diff).sum() / n_landmark


@torch.no_grad()
def update_centres(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    centres: torch.Tensor,
    alpha: float,
    reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> None:
    """Wen et al.'s moving-average centre update, in place, for the landmark classes in the batch.

    embeddings: (N, D) detached; labels: (N,); centres: (C, D) buffer. Non-landmark rows are skipped.
    `reduce` (multi-process training) sums a (C, D + 1) tensor of per-class feature sums and counts over
    all processes; every process then applies the same update of the global batch to its identical
    centres, so they stay identical (and equal to a one-process run's on the same global batch).
    """
    mask = labels != NON_LANDMARK_INDEX
    if reduce is None and not bool(mask.any()):
        return
    x = embeddings[mask].detach().to(centres.dtype)
    y = labels[mask]
    sums = torch.zeros_like(centres).index_add_(0, y, x)
    counts = torch.zeros(centres.shape[0], dtype=centres.dtype, device=centres.device)
    counts.index_add_(0, y, torch.ones_like(y, dtype=centres.dtype))
    if reduce is not None:
        packed = reduce(torch.cat([sums, counts[:, None]], dim=1))
        sums, counts = packed[:, :-1], packed[:, -1]
    seen = counts > 0
    delta = (counts[:, None] * centres - sums) / (1.0 + counts[:, None])
    centres[seen] -= alpha * delta[seen]


def init_centres(num_classes: int, dim: int, old: torch.Tensor | None = None) -> torch.Tensor:
    """(num_classes, dim) zeros, with the rows of `old` (an earlier, smaller set of centres) copied."""
    centres = torch.zeros(num_classes, dim)
    if old is not None:
        centres[: old.shape[0]] = old
    return centres


class MetricLoss(torch.nn.Module):
    """The loss chosen by `train.loss`, over a GrowingHead whose weights it shares (not owns)."""

    def __init__(
        self,
        kind: str,
        head: GrowingHead,
        *,
        centre_lambda: float,
        centre_alpha: float,
        arcface_margin: float,
        arcface_scale: float,
        centre_reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        if kind not in LOSSES:
            raise ValueError(f"train.loss must be one of {LOSSES}, got {kind!r}")
        self.kind = kind
        self.head = [head]  # a list: the head's parameters stay out of this module's parameters()
        self.centre_lambda = centre_lambda if kind == "softmax_centre" else 0.0
        self.centre_alpha = centre_alpha
        self.centre_reduce = centre_reduce  # multi-process: sums the centre update over all processes
        self.arc: pml_losses.ArcFaceLoss | None = None
        if kind in ("arcface", "subcenter_arcface"):
            degrees = math.degrees(arcface_margin)
            if kind == "arcface":
                self.arc = pml_losses.ArcFaceLoss(
                    head.num_classes, head.dim, margin=degrees, scale=arcface_scale
                )
            else:
                self.arc = pml_losses.SubCenterArcFaceLoss(
                    num_classes=head.num_classes,
                    embedding_size=head.dim,
                    margin=degrees,
                    scale=arcface_scale,
                    sub_centers=head.sub_centers,
                )
            del self.arc.W
            object.__setattr__(self.arc, "W", head.weight)  # share the head's (D, C*k) weight

    def forward(self, raw: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor | None) -> LossParts:
        """raw: (N, D) unnormalised embeddings; labels: (N,) class indices (0 = non-landmark);
        centres: (C, D) or None. Updates the centres in place after computing the loss."""
        head = self.head[0]
        normalised = F.normalize(raw, dim=1)
        if self.arc is not None:
            ce = self.arc(normalised, labels)
            logits = head.cosine(normalised)
        else:
            logits = head.logits(raw)
            ce = F.cross_entropy(logits, labels)
        centre_term = torch.zeros((), device=raw.device)
        if self.centre_lambda > 0 and centres is not None:
            centre_term = centre_loss(normalised, labels, centres)
            update_centres(normalised.detach(), labels, centres, self.centre_alpha, self.centre_reduce)
        total = ce + self.centre_lambda * centre_term
        return LossParts(
            total=total, ce=float(ce.detach()), centre=float(centre_term.detach()), logits=logits.detach()
        )
