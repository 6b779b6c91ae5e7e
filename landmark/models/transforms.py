"""Evaluation preprocessing from a model's timm data config: resize, centre crop, normalise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from PIL import Image
from timm.data import create_transform


def eval_transform(
    data_config: dict[str, Any], image_size: int | None = None
) -> Callable[[Image.Image], torch.Tensor]:
    """A callable PIL RGB image -> (3, H, W) float tensor, as timm evaluates the model.

    image_size overrides the config's input size (square H = W = image_size); the resize keeps the
    config's crop_pct (resize to size / crop_pct, then centre crop).
    """
    input_size = tuple(data_config["input_size"])
    if image_size:
        input_size = (3, int(image_size), int(image_size))
    return create_transform(
        input_size=input_size,
        is_training=False,
        interpolation=data_config.get("interpolation", "bilinear"),
        mean=tuple(data_config["mean"]),
        std=tuple(data_config["std"]),
        crop_pct=data_config.get("crop_pct", 0.875),
        crop_mode=data_config.get("crop_mode", "center"),
    )
