"""Running the curriculum: where stage k starts, and all K stages in one process.

Stage 1 starts from the pretrained embedder, a fresh head and zero centres; stage k > 1 from stage
k-1's model, its head grown with the new classes (seed `train.seed + k`) and its centres (zero rows
for new classes). The DVC stages (landmark/stages/train.py) run one stage per process and hand the
model on as files; `train_curriculum` runs the same stages in memory (experiments in research/ call
it with their own rows, parts and stage schedule). Both go through `start_stage` and
`trainer.train_stage`, so both train the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from landmark.models.embedder import Embedder, create_embedder
from landmark.params import BackboneParams, StageParams, TrainParams
from landmark.training.curriculum import class_order, stage_rows
from landmark.training.head import GrowingHead
from landmark.training.losses import init_centres
from landmark.training.trainer import train_stage

log = logging.getLogger(__name__)

StageState = tuple[Embedder, GrowingHead, torch.Tensor]  # model, head, centres (C, D)


def start_stage(
    backbone: BackboneParams, train: TrainParams, stage: int, classes: list[str], previous: StageState | None
) -> StageState:
    """(model, head, centres) stage `stage` (1-based) starts from, for the head classes `classes`
    (NON_LANDMARK first): fresh when `previous` is None, else grown from the previous stage's state.
    Draws from torch's global RNG only when it creates the embedder (its neck); seed it before."""
    if previous is None:
        sub = train.subcenters if train.loss == "subcenter_arcface" else 1
        model = create_embedder(backbone, pretrained=True)
        head = GrowingHead(classes, model.embed_dim, sub, seed=train.seed)
        return model, head, init_centres(len(classes), model.embed_dim)
    model, head, old = previous
    head = head.grow(classes, seed=train.seed + stage)
    return model, head, init_centres(head.num_classes, model.embed_dim, old=old)


@dataclass
class CurriculumResult:
    """The model after the last stage (eval mode), its head and centres, and every epoch's metrics
    (each with a `stage` key)."""

    model: Embedder
    head: GrowingHead
    centres: torch.Tensor
    history: list[dict[str, float]] = field(default_factory=list)


def train_curriculum(
    frame: pd.DataFrame,
    root: Path,
    backbone: BackboneParams,
    train: TrainParams,
    stages: Sequence[StageParams],
    device: str | torch.device,
) -> CurriculumResult:
    """Train stages 1..len(stages) in this process, as the DVC stages train@1..train@K do.

    `frame`: manifest rows (`path` relative to `root`, `landmark`, `part` 1..K for landmark rows,
    optionally `split`; see curriculum.stage_rows). Stage k trains on `stage_rows(frame, k,
    train.curriculum)` with `stages[k-1]` (epochs, lr, image size), after seeding torch with
    `train.seed + k` like the stage script.
    """
    if not stages:
        raise ValueError("train_curriculum needs at least one stage")
    previous: StageState | None = None
    history: list[dict[str, float]] = []
    for stage, stage_params in enumerate(stages, start=1):
        rows = stage_rows(frame, stage, train.curriculum)
        torch.manual_seed(train.seed + stage)  # the neck's initialisation, as in landmark.stages.train
        model, head, centres = start_stage(backbone, train, stage, class_order(rows), previous)
        labels = head.index(rows["landmark"].tolist()).tolist()
        result = train_stage(model, head, centres, root, rows["path"].tolist(), labels, train, stage_params, device)
        previous = (result.model, result.head, result.centres.detach().cpu())
        history += [{**h, "stage": float(stage)} for h in result.history]
        log.info("stage %d/%d (%d photos, %d classes): %s", stage, len(stages), len(rows), head.num_classes,
                 history[-1:] or "no epochs")
    model, head, centres = previous  # type: ignore[misc]
    return CurriculumResult(model.eval(), head.eval(), centres, history)
