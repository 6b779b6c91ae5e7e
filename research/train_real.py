"""Training variants of the embedder on the real-photo world's train split, with the project's trainer.

Train rows: the known landmarks' train photos (classes 1..L) plus the non-landmark train photos
(class 0, the paper's non-landmark softmax class; sampled `train.non_landmark_per_batch` per batch).
A curriculum variant splits the landmarks into `parts` by a difficulty score (mean cosine of a
landmark's train photos to their centroid in frozen-backbone features, easiest first) and trains
stage k on parts 1..k, the head growing and the run warm-starting from stage k-1. Every variant
gets the same total epochs. Nothing here imports faiss or mlflow (it runs on a bare GPU machine).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from landmark.data.manifest import NON_LANDMARK, SPLIT_TRAIN
from landmark.models.embedder import Embedder, create_embedder
from landmark.models.extract import embed_paths
from landmark.params import Params, StageParams, with_overrides
from landmark.training.head import GrowingHead
from landmark.training.losses import init_centres
from landmark.training.trainer import train_stage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Variant:
    """One training recipe; None fields keep the params.yaml value."""

    name: str
    loss: str  # softmax | softmax_center | arcface | subcenter_arcface
    curriculum: bool = False
    non_landmark: bool = True  # non-landmark train photos as class 0
    center_lambda: float | None = None
    trainable_blocks: int | None = None
    epochs_factor: float = 1.0


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("softmax_center", "softmax_center", curriculum=True),
        Variant("softmax_center_nocurr", "softmax_center"),
        Variant("softmax_center_l05", "softmax_center", curriculum=True, center_lambda=0.5),
        Variant("softmax_center_all", "softmax_center", curriculum=True, trainable_blocks=-1),
        Variant("softmax_center_all_l05", "softmax_center", True, center_lambda=0.5, trainable_blocks=-1),
        Variant("arcface", "arcface"),
        Variant("arcface_b1", "arcface", trainable_blocks=1),
        Variant("arcface_b3", "arcface", trainable_blocks=3),
        Variant("subcenter_arcface", "subcenter_arcface"),
        Variant("arcface_all", "arcface", trainable_blocks=-1),
        Variant("subcenter_arcface_all", "subcenter_arcface", trainable_blocks=-1),
        Variant("softmax_center_nonl", "softmax_center", curriculum=True, non_landmark=False),
    )
}


def difficulty_parts(embeddings: np.ndarray, labels: np.ndarray, k: int) -> dict[str, int]:
    """(N, D) L2-normalised frozen features + (N,) landmark names -> landmark -> part 1..k, easiest
    (highest mean cosine to its own centroid) first."""
    score = {}
    for name in sorted(set(labels.tolist())):
        e = embeddings[labels == name]
        c = e.mean(0) / np.linalg.norm(e.mean(0))
        score[name] = float((e @ c).mean())
    order = sorted(score, key=lambda n: (-score[n], n))
    return {str(n): 1 + i for i, chunk in enumerate(np.array_split(np.asarray(order), k)) for n in chunk}


def train_rows(world: pd.DataFrame, non_landmark: bool = True) -> pd.DataFrame:
    """The world's train split: landmark photos, plus the non-landmark ones when `non_landmark`."""
    rows = world[world["split"] == SPLIT_TRAIN]
    if not non_landmark:
        rows = rows[rows["landmark"] != NON_LANDMARK]
    return rows.reset_index(drop=True)


def train_variant(
    variant: Variant,
    world: pd.DataFrame,
    params: Params,
    parts: dict[str, int],
    epochs: int,
    lr: float,
    device: str,
) -> tuple[Embedder, list[dict[str, float]]]:
    """Train `variant` from the pretrained embedder on the world's train split (absolute paths).
    Returns the embedder (eval mode, on `device`) and the per-epoch history of all stages."""
    p = with_overrides(
        params,
        "train",
        loss=variant.loss,
        center_lambda=params.train.center_lambda if variant.center_lambda is None else variant.center_lambda,
        trainable_blocks=params.train.trainable_blocks
        if variant.trainable_blocks is None
        else variant.trainable_blocks,
        non_landmark_per_batch=params.train.non_landmark_per_batch if variant.non_landmark else 0,
    )
    torch.manual_seed(p.train.seed)  # the neck initialisation: the same for every variant and rerun
    model = create_embedder(p.backbone, pretrained=True)
    rows = train_rows(world, variant.non_landmark)
    is_lm = (rows["landmark"] != NON_LANDMARK).to_numpy()
    k = max(parts.values()) if variant.curriculum else 1
    total = max(1, int(round(epochs * variant.epochs_factor)))
    head: GrowingHead | None = None
    centres: torch.Tensor | None = None
    history: list[dict[str, float]] = []
    for stage in range(1, k + 1):
        part = rows["landmark"].map(parts).to_numpy(dtype=float)
        keep = ~is_lm | (part <= stage) if k > 1 else np.ones(len(rows), dtype=bool)
        stage_rows = rows[keep]
        landmarks = sorted(set(stage_rows.loc[is_lm[keep], "landmark"]), key=lambda n: (parts[n], n))
        sub = p.train.subcenters if variant.loss == "subcenter_arcface" else 1
        names = [NON_LANDMARK, *landmarks]
        head = GrowingHead(names, model.embed_dim, sub, seed=p.train.seed) if head is None else head.grow(names)
        centres = init_centres(head.num_classes, model.embed_dim, old=centres)
        stage_epochs = total // k + (1 if stage <= total % k else 0)
        sp = StageParams(epochs=stage_epochs, lr=lr / stage, image_size=p.backbone.image_size)
        labels = head.index(stage_rows["landmark"].tolist()).tolist()
        result = train_stage(model, head, centres, Path("/"), stage_rows["path"].tolist(), labels, p.train, sp, device)
        centres = result.centres.cpu()
        history += [{**h, "stage": float(stage)} for h in result.history]
        log.info("%s stage %d/%d (%d photos): %s", variant.name, stage, k, len(stage_rows), history[-1:])
    return model.eval(), history


def frozen_parts(world: pd.DataFrame, params: Params, k: int, device: str) -> dict[str, int]:
    """Curriculum parts of the known landmarks from frozen-backbone features of their train photos."""
    rows = train_rows(world, non_landmark=False)
    frozen = create_embedder(dataclasses.replace(params.backbone, embed_dim=0), pretrained=True).to(device)
    emb = embed_paths(frozen, [Path(p) for p in rows["path"]], batch_size=64, num_workers=0, device=device)
    parts = difficulty_parts(emb, rows["landmark"].to_numpy(dtype=object), k)
    log.info("curriculum parts (easiest first): %s", parts)
    return parts


def save_half(model: Embedder, path: Path, extra: dict[str, Any]) -> None:
    """One file: the state_dict in float16 (floating tensors) + the model's meta + `extra`."""
    state = {
        k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu())
        for k, v in model.state_dict().items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state": state, "meta": {**model.meta, "extra": extra}}, path)


def load_half(path: Path) -> Embedder:
    """An Embedder from a `save_half` file, weights back in float32, eval mode, on the CPU."""
    from landmark.params import BackboneParams

    blob = torch.load(path, map_location="cpu", weights_only=False)
    meta = blob["meta"]
    model = create_embedder(BackboneParams(**meta["backbone"]), pretrained=False)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state"].items()})
    model.data_config = dict(meta.get("data_config", model.data_config))
    model.meta = meta
    return model.eval()
