"""The frozen ImageNet backbone's view of a photo, in the same pass as the trained embedding.

Training changes only the backbone's last params.train.trainable_blocks blocks (and the layers after
them): everything before them keeps its ImageNet weights, so up to there the trained backbone computes
exactly what the frozen one does. A FrozenTail is a copy of the rest with the ImageNet weights, and its
GeM pooling. An Embedder carrying one (`with_frozen_view`) runs the shared layers once, then both
tails, and returns [trained embedding (D) | frozen view (C)], each part L2-normalised: for lite0 with 2
trained blocks the tail adds 37% of the backbone's FLOPs, where a second network would add 100%.
landmark.retrieval.frozen_view turns the view into a second opinion on the answer
(docs/real_results_frozen_fusion.md).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from landmark.params import BackboneParams

if TYPE_CHECKING:
    from landmark.models.embedder import Embedder

META_KEY = "frozen_view"  # Embedder.meta entry: {"shared_units": k, "dim": C}


def backbone_blocks(backbone: nn.Module) -> list[nn.Module]:
    """The backbone's blocks (timm EfficientNet / MobileNet `.blocks`); a clear error for others."""
    blocks = getattr(backbone, "blocks", None)
    if not isinstance(blocks, nn.Sequential):
        raise ValueError(f"{type(backbone).__name__}: the frozen view needs a backbone with `.blocks` "
                         "(timm EfficientNet / MobileNet)")
    return list(blocks.children())


def shared_unit_count(backbone: nn.Module, trainable_blocks: int) -> int:
    """How many of landmark.training.finetune.backbone_units come before the last `trainable_blocks`
    blocks: the layers the trained and the frozen backbone share."""
    from landmark.training.finetune import backbone_units

    blocks = backbone_blocks(backbone)
    if not 1 <= trainable_blocks <= len(blocks):
        raise ValueError(f"the frozen view needs 1 <= train.trainable_blocks <= {len(blocks)} (the layers before "
                         f"the trained blocks are shared), got {trainable_blocks}")
    return backbone_units(backbone).index(blocks[-trainable_blocks])


class FrozenTail(nn.Module):
    """(N, C, h, w) shared-layer features -> (N, C') frozen GeM view, L2-normalised."""

    def __init__(self, tail: nn.Sequential, pool: nn.Module, shared_units: int, dim: int) -> None:
        super().__init__()
        self.tail, self.pool = tail, pool
        self.shared_units, self.dim = int(shared_units), int(dim)
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, shared: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.pool(self.tail(shared)).float(), p=2.0, dim=1)


def tail_of(frozen: Embedder, shared_units: int) -> FrozenTail:
    """The units of the frozen embedder's backbone from `shared_units` on, with its pooling."""
    from landmark.training.finetune import backbone_units

    units = backbone_units(frozen.backbone)
    if not 0 < shared_units < len(units):
        raise ValueError(f"frozen view: shared_units must be in 1..{len(units) - 1}, got {shared_units}")
    return FrozenTail(nn.Sequential(*units[shared_units:]), frozen.pool, shared_units, frozen.embed_dim).eval()


def frozen_tail(cfg: BackboneParams, shared_units: int, pretrained: bool = True) -> FrozenTail:
    """The ImageNet backbone of `cfg` from unit `shared_units` on, with the frozen embedder's pooling;
    pretrained=False: the same architecture, for loading saved weights."""
    from landmark.models.embedder import create_embedder

    return tail_of(create_embedder(dataclasses.replace(cfg, embed_dim=0), pretrained=pretrained), shared_units)


def check_composes(backbone: nn.Module, image_size: int) -> None:
    """Raise unless running the backbone unit by unit gives its own forward (the shared pass relies on it)."""
    from landmark.training.finetune import backbone_units

    x = torch.randn(1, 3, image_size, image_size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        whole = backbone(x)
        stepped = x
        for unit in backbone_units(backbone):
            stepped = unit(stepped)
    if whole.shape != stepped.shape or not torch.allclose(whole, stepped, atol=1e-4, rtol=1e-4):
        raise ValueError(f"{type(backbone).__name__}: its units do not compose to its forward; "
                         "the frozen view cannot share its layers")


def shared_units_are_imagenet(model: Embedder, shared_units: int, imagenet: nn.Module) -> list[str]:
    """Names of the tensors of `model`'s first `shared_units` backbone units that differ from the
    `imagenet` backbone's (empty: the shared layers are the frozen network's, as the view assumes)."""
    from landmark.training.finetune import backbone_units

    differ = []
    for i, (mine, theirs) in enumerate(zip(backbone_units(model.backbone)[:shared_units],
                                           backbone_units(imagenet)[:shared_units], strict=True)):
        ours, ref = mine.state_dict(), theirs.state_dict()
        differ += [f"unit {i} {name}" for name, t in ours.items()
                   if t.dtype.is_floating_point and not torch.allclose(t.float(), ref[name].float(), atol=1e-6)]
    return differ


def with_frozen_view(model: Embedder, trainable_blocks: int) -> Embedder:
    """`model` (changed in place and returned) carrying the ImageNet tail after its layers before the last
    `trainable_blocks` blocks; its meta records the view. A clear error when the backbone cannot share
    its layers or when those layers were trained (then they are not the frozen network's)."""
    from landmark.models.embedder import create_embedder

    cfg = BackboneParams(**model.meta["backbone"])
    check_composes(model.backbone, int(model.data_config["input_size"][-1]))
    shared = shared_unit_count(model.backbone, trainable_blocks)
    imagenet = create_embedder(dataclasses.replace(cfg, embed_dim=0), pretrained=True)  # loaded once: both uses
    changed = shared_units_are_imagenet(model, shared, imagenet.backbone)
    if changed:
        raise ValueError(f"the frozen view shares the network's first {shared} backbone units, but "
                         f"{len(changed)} of their tensors differ from the ImageNet weights ({changed[0]}, ...): "
                         "it was trained with more blocks than train.trainable_blocks says")
    model.view = tail_of(imagenet, shared)
    model.meta = {**model.meta, META_KEY: {"shared_units": shared, "dim": model.view.dim}}
    return model
