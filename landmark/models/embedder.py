"""The embedding network: a timm backbone, GeM or average pooling, an optional linear + BN neck.

Output: (N, D) float32 L2-normalised embeddings. The model carries timm's data config (input size,
mean, std, interpolation, crop) and a `meta` dict with everything needed to rebuild it
(`landmark.models.checkpoint.load_embedder`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import timm
import torch
import torch.nn.functional as F
from timm.data import resolve_data_config
from torch import nn

from landmark.models.gem import AvgPool, GeM
from landmark.models.weights import load_weights
from landmark.params import BackboneParams

if TYPE_CHECKING:
    from landmark.models.frozen_tail import FrozenTail

log = logging.getLogger(__name__)

META_FORMAT = 1
POOLINGS = ("gem", "avg")


class Embedder(nn.Module):
    """backbone (N,3,H,W) -> (N,C,h,w); pool -> (N,C); neck -> (N,D); forward L2-normalises.
    With a frozen view (`view`, landmark.models.frozen_tail.with_frozen_view) forward returns
    [embedding (D) | frozen view (view.dim)], the backbone's shared layers run once."""

    view: FrozenTail | None

    def __init__(
        self,
        backbone: nn.Module,
        pool: nn.Module,
        neck: nn.Module,
        embed_dim: int,
        data_config: dict[str, Any],
        meta: dict[str, Any],
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.pool = pool
        self.neck = neck
        self.embed_dim = int(embed_dim)
        self.data_config = dict(data_config)
        self.meta = dict(meta)
        self.view = None

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float -> (N, C) pooled backbone features (before the neck)."""
        return self.pool(self.backbone(x))

    def embed_unnormalised(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float -> (N, D) embeddings before L2 normalisation (input of softmax heads)."""
        return self.neck(self.pooled(x))

    @property
    def output_dim(self) -> int:
        """Columns forward returns: D, plus the frozen view's when the embedder carries one."""
        return self.embed_dim + (self.view.dim if self.view is not None else 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float -> (N, output_dim) float32: the L2-normalised embedding, then the frozen
        view (L2-normalised on its own) when the embedder carries one."""
        if self.view is None:
            return F.normalize(self.embed_unnormalised(x).float(), p=2.0, dim=1)
        shared, trained = self.shared_and_trained(x)
        embedding = F.normalize(self.neck(self.pool(trained)).float(), p=2.0, dim=1)
        return torch.cat([embedding, self.view(shared)], dim=1)

    def shared_and_trained(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """With a frozen view: the output of the backbone's layers it shares with the frozen network, and
        the trained backbone's features after them, in one pass."""
        from landmark.training.finetune import backbone_units

        if self.view is None:
            raise ValueError("shared_and_trained needs an embedder carrying a frozen view")
        units = backbone_units(self.backbone)
        shared = x
        for unit in units[: self.view.shared_units]:
            shared = unit(shared)
        trained = shared
        for unit in units[self.view.shared_units:]:
            trained = unit(trained)
        return shared, trained


def _pool(cfg: BackboneParams) -> nn.Module:
    if cfg.pooling == "gem":
        return GeM(p=cfg.gem_p)
    if cfg.pooling == "avg":
        return AvgPool()
    raise ValueError(f"backbone.pooling must be one of {POOLINGS}, got {cfg.pooling!r}")


def _neck(num_features: int, embed_dim: int) -> nn.Module:
    if embed_dim < 0:
        raise ValueError(f"backbone.embed_dim must be >= 0, got {embed_dim}")
    if embed_dim == 0:
        return nn.Identity()
    linear = nn.Linear(num_features, embed_dim, bias=False)
    nn.init.xavier_uniform_(linear.weight)
    return nn.Sequential(linear, nn.BatchNorm1d(embed_dim))


def data_config_for(backbone: nn.Module, image_size: int) -> dict[str, Any]:
    """timm's data config of the backbone, with the input size set to (3, image_size, image_size)."""
    config = dict(resolve_data_config({}, model=backbone))
    if image_size > 0:
        config["input_size"] = (3, int(image_size), int(image_size))
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items()}


def create_embedder(cfg: BackboneParams, pretrained: bool = True) -> Embedder:
    """Build the embedder described by `cfg`; load `cfg.weights` when `pretrained`.

    pretrained=False builds the same architecture with random weights (for loading a checkpoint).
    """
    backbone = timm.create_model(cfg.name, pretrained=False, num_classes=0, global_pool="")
    if pretrained:
        load_weights(backbone, cfg.name, cfg.weights)
    num_features = int(backbone.num_features)  # type: ignore[arg-type]  # timm models set it to an int
    embed_dim = int(cfg.embed_dim) or num_features
    data_config = data_config_for(backbone, cfg.image_size)
    meta = {
        "format": META_FORMAT,
        "backbone": dataclasses.asdict(cfg),
        "num_features": num_features,
        "embed_dim": embed_dim,
        "data_config": data_config,
        "timm_version": timm.__version__,
    }
    model = Embedder(backbone, _pool(cfg), _neck(num_features, cfg.embed_dim), embed_dim, data_config, meta)
    log.info("embedder %s: pool=%s C=%d D=%d input=%s", cfg.name, cfg.pooling, num_features, embed_dim,
             data_config["input_size"])
    return model.eval()


def frozen_embedder(backbone: BackboneParams) -> Embedder:
    """The ImageNet backbone of `backbone` with pooled features (embed_dim = 0), untrained: what the
    cleaning graph embeds with, and the frozen baseline."""
    return create_embedder(dataclasses.replace(backbone, embed_dim=0), pretrained=True)
