"""Partial fine-tuning: freeze all but the last N blocks of the timm backbone (CPU-friendly training).

The pool, the neck and the head always train. Frozen parts keep their BatchNorm statistics: after
`model.train()` call `set_train_mode` so frozen modules stay in eval mode.
"""

from __future__ import annotations

import logging

from torch import nn

log = logging.getLogger(__name__)


def backbone_units(backbone: nn.Module) -> list[nn.Module]:
    """The backbone as an ordered list of units: stem modules, each block, then the head convs.

    timm EfficientNet / MobileNet style models expose `.blocks`; other models fall back to their
    top-level children that hold parameters (ResNet: conv1, bn1, layer1..layer4).
    """
    units: list[nn.Module] = []
    for name, child in backbone.named_children():
        if name == "blocks" and isinstance(child, nn.Sequential):
            units.extend(child.children())
        elif any(True for _ in child.parameters()):
            units.append(child)
    return units


def apply_trainable_blocks(backbone: nn.Module, trainable_blocks: int) -> list[nn.Module]:
    """Freeze the backbone except its last `trainable_blocks` blocks (plus the layers after them);
    -1 trains everything. Returns the frozen units (for `set_train_mode`)."""
    for p in backbone.parameters():
        p.requires_grad_(True)
    if trainable_blocks < 0:
        return []
    units = backbone_units(backbone)
    blocks_module = getattr(backbone, "blocks", None)
    blocks = list(blocks_module.children()) if isinstance(blocks_module, nn.Module) else units
    if trainable_blocks == 0:
        frozen = units
    else:
        first_trainable = units.index(blocks[-min(trainable_blocks, len(blocks))])
        frozen = units[:first_trainable]
    for unit in frozen:
        for p in unit.parameters():
            p.requires_grad_(False)
    n_train = sum(p.numel() for p in backbone.parameters() if p.requires_grad)
    log.info("backbone: %d of %d units frozen, %d trainable parameters", len(frozen), len(units), n_train)
    return frozen


def set_train_mode(model: nn.Module, frozen: list[nn.Module]) -> None:
    """model.train(), then frozen units back to eval (their BatchNorm statistics stay fixed)."""
    model.train()
    for unit in frozen:
        unit.eval()
