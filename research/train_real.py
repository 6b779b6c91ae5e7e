"""Training variants of the embedder on the real-photo world's train split, with the project's trainer.

Train rows: the known landmarks' train photos (classes 1..L) plus the non-landmark train photos
(class 0, the paper's non-landmark softmax class; sampled `train.non_landmark_per_batch` per batch).
A curriculum variant splits the landmarks into `parts` by a difficulty score (mean cosine of a
landmark's train photos to their centroid in frozen-backbone features, easiest first) and trains
stage k on parts 1..k, the head growing and the run warm-starting from stage k-1: the product's own
curriculum loop (landmark.training.curriculum_run.train_curriculum, the same seeds and head growth as
the DVC stages train@1..train@K); a variant only changes its parameters (loss, centre weight,
trainable blocks, rows, parts, stage schedule). Every variant gets the same total epochs. Nothing here
imports faiss or mlflow (it runs on a bare GPU machine).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from landmark.data.manifest import NON_LANDMARK, SPLIT_TRAIN
from landmark.layout import stage_start
from landmark.models.embedder import Embedder, create_embedder
from landmark.models.embedding import embed
from landmark.params import Params, StageParams, with_overrides
from landmark.training.curriculum_run import train_curriculum

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Variant:
    """One training recipe; None fields keep the params.yaml value."""

    name: str
    loss: str  # softmax | softmax_centre | arcface | subcenter_arcface
    curriculum: bool = False
    non_landmark: bool = True  # non-landmark train photos as class 0
    centre_lambda: float | None = None
    trainable_blocks: int | None = None
    epochs_factor: float = 1.0


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("softmax_centre", "softmax_centre", curriculum=True),
        Variant("softmax_centre_nocurr", "softmax_centre"),
        Variant("softmax_centre_l05", "softmax_centre", curriculum=True, centre_lambda=0.5),
        Variant("softmax_centre_all", "softmax_centre", curriculum=True, trainable_blocks=-1),
        Variant("softmax_centre_all_l05", "softmax_centre", True, centre_lambda=0.5, trainable_blocks=-1),
        Variant("arcface", "arcface"),
        Variant("arcface_b1", "arcface", trainable_blocks=1),
        Variant("arcface_b3", "arcface", trainable_blocks=3),
        Variant("subcenter_arcface", "subcenter_arcface"),
        Variant("arcface_all", "arcface", trainable_blocks=-1),
        Variant("subcenter_arcface_all", "subcenter_arcface", trainable_blocks=-1),
        Variant("softmax_centre_nonl", "softmax_centre", curriculum=True, non_landmark=False),
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


def stage_schedule(epochs: int, stages: int, lr: float, image_size: int) -> list[StageParams]:
    """`epochs` spread over `stages` curriculum stages (the first ones take the remainder), stage k at
    lr / k: the experiments' stand-in for params.yaml's `train.stages`."""
    return [
        StageParams(epochs=epochs // stages + (1 if k <= epochs % stages else 0), lr=lr / k, image_size=image_size,
                    after=str(stage_start(k)))
        for k in range(1, stages + 1)
    ]


def with_parts(rows: pd.DataFrame, parts: dict[str, int] | None) -> pd.DataFrame:
    """`rows` with the `part` column the product's curriculum reads: parts[landmark] for landmark rows
    (1 for all when `parts` is None), empty for non-landmark rows."""
    is_lm = rows["landmark"] != NON_LANDMARK
    part = rows["landmark"].map(parts) if parts is not None else pd.Series(1, index=rows.index)
    return rows.assign(part=part.where(is_lm, None))


def train_variant(
    variant: Variant,
    world: pd.DataFrame,
    params: Params,
    parts: dict[str, int],
    epochs: int,
    lr: float,
    device: str,
) -> tuple[Embedder, list[dict[str, float]]]:
    """Train `variant` from the pretrained embedder on the world's train split (absolute paths) with the
    product's curriculum loop (training.curriculum_run.train_curriculum): len(set(parts)) stages when
    `variant.curriculum`, else one. Returns the embedder (eval mode, on `device`) and the per-epoch
    history of all stages."""
    p = with_overrides(
        params,
        "train",
        loss=variant.loss,
        centre_lambda=params.train.centre_lambda if variant.centre_lambda is None else variant.centre_lambda,
        trainable_blocks=params.train.trainable_blocks
        if variant.trainable_blocks is None
        else variant.trainable_blocks,
        non_landmark_per_batch=params.train.non_landmark_per_batch if variant.non_landmark else 0,
        curriculum=variant.curriculum,
    )
    k = max(parts.values()) if variant.curriculum else 1
    total = max(1, int(round(epochs * variant.epochs_factor)))
    frame = with_parts(train_rows(world, variant.non_landmark), parts if variant.curriculum else None)
    result = train_curriculum(frame, Path("/"), p.backbone, p.train,
                              stage_schedule(total, k, lr, p.backbone.image_size), device)
    log.info("%s: %d stage(s), last epoch %s", variant.name, k, result.history[-1:])
    return result.model, result.history


def frozen_parts(world: pd.DataFrame, params: Params, k: int, device: str) -> dict[str, int]:
    """Curriculum parts of the known landmarks from frozen-backbone features of their train photos."""
    rows = train_rows(world, non_landmark=False)
    frozen = create_embedder(dataclasses.replace(params.backbone, embed_dim=0), pretrained=True).to(device)
    emb = embed(frozen, [Path(p) for p in rows["path"]], preprocessing="timm", batch_size=64, device=device, workers=0)
    parts = difficulty_parts(emb, rows["landmark"].to_numpy(dtype=object), k)
    log.info("curriculum parts (easiest first): %s", parts)
    return parts


def save_half(model: Embedder, path: Path, extra: dict[str, Any]) -> None:
    """One file: the state_dict in float16 (floating tensors) + the model's meta + `extra`.

    meta and extra are stored as plain JSON types (numpy scalars become floats), so `load_half` can
    read the file with `torch.load(weights_only=True)`."""
    state = {
        k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu())
        for k, v in model.state_dict().items()
    }
    meta = json.loads(json.dumps({**model.meta, "extra": extra}, default=_plain))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state": state, "meta": meta}, path)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not a plain value for a checkpoint's metadata")


def load_half(path: Path) -> Embedder:
    """An Embedder from a `save_half` file, weights back in float32, eval mode, on the CPU."""
    from landmark.params import BackboneParams

    try:  # weights_only: a checkpoint someone hands us is never unpickled into arbitrary objects
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"{path}: refused by torch.load(weights_only=True) (it holds more than tensors and plain "
            f"values; re-save it with save_half): {str(exc).splitlines()[0]}"
        ) from exc
    meta = blob["meta"]
    model = create_embedder(BackboneParams(**meta["backbone"]), pretrained=False)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state"].items()})
    model.data_config = dict(meta.get("data_config", model.data_config))
    model.meta = meta
    return model.eval()
