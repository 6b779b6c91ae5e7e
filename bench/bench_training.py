"""Training throughput: the full pipeline (sampler + decode + augment + train step) against a bare loop
of the same model, batch and input size in the same run; and peak memory.

`python -m bench.bench_training [--device cpu|cuda] [--steps N]`: prints a markdown table, and
main() returns the rows as dicts. The ratio pipeline/bare is the number to watch (target >= 0.9).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from landmark.data.manifest import NON_LANDMARK
from landmark.models.embedder import create_embedder
from landmark.params import load_params, with_overrides
from landmark.training.augment import train_transform
from landmark.training.dataset import PhotoDataset, background_worker
from landmark.training.finetune import apply_trainable_blocks, set_train_mode
from landmark.training.head import GrowingHead
from landmark.training.losses import MetricLoss, init_centres
from landmark.training.sampler import LandmarkBatchSampler
from landmark.training.trainer import peak_rss_mb, train_step

log = logging.getLogger("bench.bench_training")


def make_photos(
    folder: Path, classes: int, per_class: int, non_landmarks: int, size: int
) -> tuple[list[str], list[int]]:
    """PNG photos of coloured shapes on noisy backgrounds; returns (paths, labels) with 0 = non-landmark."""
    rng = np.random.default_rng(0)
    paths, labels = [], []
    for c in range(classes + 1):
        for i in range(per_class if c else non_landmarks):
            noise = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            image = Image.fromarray(noise)
            if c:
                r = size // 4
                ImageDraw.Draw(image).ellipse(
                    (r, r, 3 * r, 3 * r), fill=tuple(int(v) for v in rng.integers(0, 255, 3))
                )
            path = f"c{c}_{i}.png"
            image.save(folder / path)
            paths.append(path)
            labels.append(c)
    return paths, labels


def _timed(step: Any, batches: Any, warmup: int, steps: int, device: torch.device) -> float:
    """Photos/s over `steps` steps after `warmup` steps; `batches` yields (images, labels)."""
    done = photos = 0
    began = 0.0
    for images, labels in batches:
        if done == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            began = time.perf_counter()
        step(images.to(device, non_blocking=True), labels.to(device, non_blocking=True))
        done += 1
        photos += len(labels) if done > warmup else 0
        if done == warmup + steps:
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return photos / (time.perf_counter() - began)


def measure(
    device_name: str,
    steps: int = 6,
    warmup: int = 2,
    repeats: int = 3,
    workers: Sequence[int] | int | None = None,
    weights: str | None = None,
) -> list[dict[str, Any]]:
    """Per repeat: the bare loop, then the pipeline with each loader worker count (default: 0 and
    train.num_workers), on the same model. Rows per worker count: medians of photos/s, and the median
    of the paired ratios pipeline / the bare repeat just before it."""
    device = torch.device(device_name)
    params = load_params()
    train = params.train
    size = train.stages[0].image_size
    backbone = with_overrides(params, "backbone", weights=weights or params.backbone.weights).backbone
    model = create_embedder(backbone, pretrained=True).to(device)
    frozen = apply_trainable_blocks(model.backbone, train.trainable_blocks)
    classes = 8
    head = GrowingHead([NON_LANDMARK, *[f"l{i}" for i in range(classes)]], model.embed_dim).to(device)
    loss_fn = MetricLoss("softmax_centre", head, centre_lambda=train.centre_lambda, centre_alpha=train.centre_alpha,
                         arcface_margin=train.arcface_margin, arcface_scale=train.arcface_scale)
    centres = init_centres(head.num_classes, model.embed_dim).to(device)
    trainable = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=train.weight_decay)
    set_train_mode(model, frozen)

    def step(images: torch.Tensor, labels: torch.Tensor) -> None:
        train_step(model, loss_fn, optimizer, images, labels, centres)

    total = warmup + steps
    if workers is None:
        counts = sorted({0, train.num_workers})
    else:
        counts = [workers] if isinstance(workers, int) else list(workers)
    bare_runs: list[float] = []
    pipe_runs: dict[int, list[float]] = {w: [] for w in counts}
    with tempfile.TemporaryDirectory() as tmp:
        per_class = max(train.m_per_class, (total * train.batch_size) // classes + 1)
        paths, labels = make_photos(
            Path(tmp), classes, per_class, total * train.non_landmark_per_batch + 1, size
        )
        sampler = LandmarkBatchSampler(
            labels, train.batch_size, train.m_per_class, train.non_landmark_per_batch, 0
        )
        dataset = PhotoDataset(Path(tmp), paths, labels, train_transform(model.data_config, size))
        loaders = {
            w: torch.utils.data.DataLoader(  # as the trainer builds it
                dataset, batch_sampler=sampler, num_workers=w, pin_memory=device.type == "cuda",
                worker_init_fn=background_worker if w else None, prefetch_factor=4 if w else None,
            )
            for w in counts
        }
        first = next(iter(loaders[counts[0]]))
        fixed = (first[0].to(device), first[1].to(device))
        for r in range(repeats):
            sampler.set_epoch(r)
            bare_runs.append(_timed(step, iter(lambda: fixed, None), warmup, steps, device))
            for w in counts:
                pipe_runs[w].append(_timed(step, loaders[w], warmup, steps, device))
    bare = float(np.median(bare_runs))
    gpu_peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else 0.0
    rows = []
    for w in counts:
        # each pipeline repeat against the bare repeat just before it: a machine whose speed drifts (other
        # tenants) moves both alike, so the median of these paired ratios is the steadier figure
        paired = [p / b for p, b in zip(pipe_runs[w], bare_runs, strict=True)]
        pipeline = float(np.median(pipe_runs[w]))
        rows.append({
            "figure": f"training photos/s ({device.type}, batch {train.batch_size}, {size} px, "
            f"trainable_blocks {train.trainable_blocks}, {w} workers)",
            "project": round(pipeline, 1),
            "baseline": round(bare, 1),
            "ratio": round(float(np.median(paired)), 3),
            "ratio_of_medians": round(pipeline / bare, 3),
            "paired_ratios": [round(x, 3) for x in paired],
            "unit": "photos/s; baseline = bare loop on a fixed in-memory batch",
            "peak_rss_mb": round(peak_rss_mb()),
            "gpu_peak_mb": round(gpu_peak),
            "note": f"ratio: median of {repeats} paired (bare, then pipeline) repeats of {steps} steps after "
            f"{warmup} warm-up; photos/s: medians",
        })
    return rows


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table."""
    lines = [
        "| figure | pipeline photos/s | bare photos/s | ratio (median paired) | ratio of medians | paired ratios | "
        "peak RSS MiB | peak GPU MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['figure']} | {r['project']} | {r['baseline']} | {r['ratio']} | {r['ratio_of_medians']} | "
        f"{', '.join(str(x) for x in r['paired_ratios'])} | {r['peak_rss_mb']} | "
        f"{r['gpu_peak_mb']} |"
        for r in rows
    ]
    return "\n".join(lines)


def main() -> list[dict[str, Any]]:
    """Measure on cuda when present, else cpu, with params.yaml's train settings; print the table."""
    rows = measure("cuda" if torch.cuda.is_available() else "cpu", steps=10, repeats=7)
    print(to_markdown(rows))
    return rows


def cli(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """`python -m bench.bench_training [--device D] [--steps N] [--repeats R] [--workers W]`."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, nargs="+", default=None,
                    help="loader worker counts to measure (default: 0 and train.num_workers)")
    ap.add_argument("--weights", default=None, help="override backbone.weights")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = measure(args.device, args.steps, args.warmup, args.repeats, args.workers, args.weights)
    print(to_markdown(rows))
    return rows


if __name__ == "__main__":
    cli()
