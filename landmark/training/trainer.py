"""The training loop of one curriculum stage: AdamW, cosine or step LR, per-epoch metrics and
checkpoints, resume after a crash (at most the running epoch is lost), reproducible from the seed.

Every epoch e re-seeds torch from (seed, e), and every photo's augmentation is seeded from (seed, e,
batch, place in the batch) (sampler.SeededBatches), so a run resumed from the checkpoint of epoch e-1
draws the same batches and augmentations as an uninterrupted run, with any number of loader workers
or training processes.

With a `DistContext` (multi-process training under torchrun, see distributed.py) every rank trains on
its slice of each global batch through DistributedDataParallel, the centre and BatchNorm updates are
all-reduced, the epoch metrics are those of the global batches, and rank 0 alone writes checkpoints.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from landmark.models.embedder import Embedder
from landmark.params import StageParams, TrainParams
from landmark.training import state as ckpt
from landmark.training.augment import train_transform
from landmark.training.dataset import PhotoDataset, background_worker
from landmark.training.distributed import DistContext, average_running_stats, wrap_ddp
from landmark.training.finetune import apply_trainable_blocks, set_train_mode
from landmark.training.head import GrowingHead
from landmark.training.losses import MetricLoss
from landmark.training.sampler import LandmarkBatchSampler, SeededBatches

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a stage produced: the trained parts (in place) and one metrics dict per epoch."""

    model: Embedder
    head: GrowingHead
    centres: torch.Tensor  # (C, D) float32, row 0 (non-landmark) unused
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int = 0  # epochs already done when this run started


def peak_rss_mb() -> float:
    """Peak resident memory (MiB) of this process and its finished children (data workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def make_scheduler(
    optimizer: torch.optim.Optimizer, kind: str, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step LR factor: cosine from 1 to 0.01, or step (x0.1 after 2/3 of the steps)."""
    total = max(1, total_steps)
    if kind == "cosine":

        def factor(step: int) -> float:
            return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    elif kind == "step":

        def factor(step: int) -> float:
            return 1.0 if step < (2 * total) // 3 else 0.1
    else:
        raise ValueError(f"train.lr_schedule must be cosine or step, got {kind!r}")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


TRAINING_CODE = (Path(__file__).resolve().parent, Path(__file__).resolve().parents[1] / "models")


def source_digest(folders: tuple[Path, ...] = TRAINING_CODE) -> str:
    """sha256 of the .py files under `folders` (names and contents, sorted): the code version of a run."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.py")):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def run_fingerprint(
    model: Embedder,
    head: GrowingHead,
    centres: torch.Tensor,
    paths: list[str],
    labels: list[int],
    train: TrainParams,
    stage: StageParams,
    code: str | None = None,
) -> str:
    """sha256 of what a stage starts from (weights, head, centres, photos, labels, params) and of the
    training code (`code`, default `source_digest()`): a checkpoint is resumed only by the run it belongs
    to, never after its inputs or the code that trains changed (DVC reruns a stage after a code change;
    resuming the old run's finished checkpoint would hand back the old model)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([dataclasses.asdict(train), dataclasses.asdict(stage), paths, labels]).encode())
    digest.update((source_digest() if code is None else code).encode())
    for part in (model.state_dict(), head.state_dict(), {"centres": centres}):
        for key, value in part.items():
            digest.update(key.encode())
            digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def train_step(
    model: Embedder,
    loss_fn: MetricLoss,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    labels: torch.Tensor,
    centres: torch.Tensor | None,
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[float, float, float, int]:
    """One optimizer step on a batch (N, 3, H, W); returns (loss, ce, centre, correct predictions).
    `forward` (images -> (N, D) unnormalised embeddings) replaces `model.embed_unnormalised`: the
    DistributedDataParallel wrapper in multi-process training."""
    raw = (forward or model.embed_unnormalised)(images)
    parts = loss_fn(raw, labels, centres)
    optimizer.zero_grad(set_to_none=True)
    parts.total.backward()
    optimizer.step()
    correct = int((parts.logits.argmax(dim=1) == labels).sum())
    return float(parts.total.detach()), parts.ce, parts.centre, correct


def train_stage(
    model: Embedder,
    head: GrowingHead,
    centres: torch.Tensor,
    root: Path,
    paths: list[str],
    labels: list[int],
    train: TrainParams,
    stage: StageParams,
    device: str | torch.device,
    checkpoint_dir: Path | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    dist: DistContext | None = None,
) -> TrainResult:
    """Train `model` + `head` (+ `centres`, (C, D)) on photos `paths` (relative to `root`) with class
    indices `labels` (0 = non-landmark). Resumes from `checkpoint_dir/last.pt` when it matches.
    `dist`: this rank of a multi-process run (every rank calls this with the same arguments; rank 0
    alone writes `checkpoint_dir`, every rank reads it to resume)."""
    device = torch.device(device)
    model.to(device)
    head.to(device)
    centres = centres.to(device)
    frozen = apply_trainable_blocks(model.backbone, train.trainable_blocks)
    loss_fn = MetricLoss(train.loss, head, centre_lambda=train.centre_lambda, centre_alpha=train.centre_alpha,
                         arcface_margin=train.arcface_margin, arcface_scale=train.arcface_scale,
                         centre_reduce=dist.all_reduce_sum if dist else None)
    trainable = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.AdamW(trainable, lr=stage.lr, weight_decay=train.weight_decay)
    sampler = LandmarkBatchSampler(
        labels, train.batch_size, train.m_per_class, train.non_landmark_per_batch, seed=train.seed,
        rank=dist.rank if dist else 0, world_size=dist.world_size if dist else 1,
    )
    scheduler = make_scheduler(optimizer, train.lr_schedule, stage.epochs * len(sampler))
    dataset = PhotoDataset(root, paths, labels, train_transform(model.data_config, stage.image_size))
    result = TrainResult(model, head, centres)
    fingerprint = run_fingerprint(model, head, centres, paths, labels, train, stage)
    start = _resume(checkpoint_dir, result, optimizer, scheduler, fingerprint)
    # DDP after the resume: its construction broadcasts rank 0's weights (all ranks read the same file)
    ddp = wrap_ddp(model, head, dist, device) if dist else None
    for epoch in range(start, stage.epochs):
        torch.manual_seed(train.seed * 1000 + epoch)
        sampler.set_epoch(epoch)
        workers = train.num_workers
        loader = torch.utils.data.DataLoader(
            dataset, batch_sampler=SeededBatches(sampler), num_workers=workers, pin_memory=device.type == "cuda",
            worker_init_fn=background_worker if workers else None, prefetch_factor=4 if workers else None,
        )
        set_train_mode(model, frozen)
        head.train()
        sums = {"loss": 0.0, "ce": 0.0, "centre": 0.0}
        n_seen = n_correct = 0
        began = time.perf_counter()
        bar = tqdm(
            loader,
            desc=f"epoch {epoch + 1}/{stage.epochs}",
            file=sys.stderr,
            leave=False,
            disable=not sys.stderr.isatty(),
        )
        for images, batch_labels in bar:
            images = images.to(device, non_blocking=True)
            batch_labels = batch_labels.to(device, non_blocking=True)
            loss, ce, centre, correct = train_step(
                model, loss_fn, optimizer, images, batch_labels, result.centres, forward=ddp
            )
            if dist is not None:
                average_running_stats(model, dist)
            scheduler.step()
            n = len(batch_labels)
            for key, value in (("loss", loss), ("ce", ce), ("centre", centre)):
                sums[key] += value * n
            n_seen += n
            n_correct += correct
            bar.set_postfix(loss=f"{loss:.3f}")
        seconds = time.perf_counter() - began
        rss = peak_rss_mb()
        if dist is not None:  # the global batches' metrics: sums over the ranks (rss: the largest rank)
            totals = dist.all_reduce_sum(torch.tensor([sums["loss"], sums["ce"], sums["centre"],
                                                       float(n_seen), float(n_correct)], dtype=torch.float64))
            sums = dict(zip(("loss", "ce", "centre"), totals[:3].tolist(), strict=True))
            n_seen, n_correct = int(totals[3]), int(totals[4])
            rss = float(dist.all_reduce_max(torch.tensor([rss], dtype=torch.float64))[0])
        metrics = {
            "epoch": float(epoch + 1),
            **{k: v / max(1, n_seen) for k, v in sums.items()},
            "accuracy": n_correct / max(1, n_seen),
            "lr": optimizer.param_groups[0]["lr"],
            "photos_per_s": n_seen / max(seconds, 1e-9),
            "peak_rss_mb": rss,
        }
        result.history.append(metrics)
        log.info(
            "epoch %d/%d: %s",
            epoch + 1,
            stage.epochs,
            " ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "epoch"),
        )
        if checkpoint_dir is not None and (dist is None or dist.is_main):
            _save(checkpoint_dir, result, optimizer, scheduler, epoch + 1, fingerprint)
        if dist is not None:
            dist.barrier()  # no rank runs ahead of the checkpoint rank 0 has just made durable
        if on_epoch is not None:
            on_epoch(metrics)
    model.eval()
    head.eval()
    return result


def _save(
    folder: Path,
    result: TrainResult,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    epochs_done: int,
    fingerprint: str,
) -> None:
    ckpt.atomic_save(
        {
            "epoch": epochs_done,
            "fingerprint": fingerprint,
            "classes": result.head.classes,
            "model": {k: v.detach().cpu() for k, v in result.model.state_dict().items()},
            "head": {k: v.detach().cpu() for k, v in result.head.state_dict().items()},
            "centres": result.centres.detach().cpu(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": ckpt.rng_state(),
            "history": result.history,
        },
        Path(folder) / ckpt.LAST,
    )


def _resume(
    folder: Path | None,
    result: TrainResult,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    fingerprint: str,
) -> int:
    if folder is None:
        return 0
    state: dict[str, Any] | None = ckpt.load_checkpoint(folder)
    if state is None:
        return 0
    if state.get("fingerprint") != fingerprint:
        log.warning(
            "checkpoint in %s is from another run (inputs, params or start model); starting afresh", folder
        )
        return 0
    result.model.load_state_dict(state["model"])
    result.head.load_state_dict(state["head"])
    result.centres.copy_(state["centres"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    ckpt.set_rng_state(state["rng"])
    result.history = [dict(h) for h in state["history"]]
    result.resumed_from = int(state["epoch"])
    log.info("resuming from %s: %d epochs done", Path(folder) / ckpt.LAST, result.resumed_from)
    return result.resumed_from
