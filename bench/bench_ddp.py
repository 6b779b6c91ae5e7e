"""Multi-process training: a DDP training step with 2 processes against 1 process, same global batch
(train.batch_size), same cores, same run.

Each side is one torchrun launch of this module in worker mode: 1 process runs today's step
(trainer.train_step, all the machine's threads); 2 processes run the DDP step (half the batch each,
gradient, centre and BatchNorm all-reduces, threads split between them). Batches are fixed tensors in
memory, so the figure is the step itself, not photo decoding. The ratio is 2-process / 1-process
photos per second (> 1: the two processes train faster).

`python -m bench.bench_ddp [--device cpu|cuda] [--steps N]` prints the rows; main() returns them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from landmark.data.manifest import NON_LANDMARK
from landmark.env import compute_threads, threads_per_process
from landmark.models.embedder import create_embedder
from landmark.params import load_params
from landmark.training.distributed import (
    average_running_stats,
    init_from_env,
    shutdown,
    torchrun_argv,
    under_torchrun,
    wrap_ddp,
)
from landmark.training.finetune import apply_trainable_blocks, set_train_mode
from landmark.training.head import GrowingHead
from landmark.training.losses import MetricLoss, init_centres
from landmark.training.sampler import classes_per_batch
from landmark.training.trainer import train_step

log = logging.getLogger("bench.bench_ddp")


def worker(out: Path, device_name: str, steps: int, warmup: int, repeats: int) -> None:
    """One rank: time `repeats` windows of `steps` training steps; rank 0 writes global photos/s."""
    world = int(os.environ["WORLD_SIZE"]) if under_torchrun() else 1
    dist, device_name = init_from_env(device_name) if world > 1 else (None, device_name)
    torch.set_num_threads(threads_per_process(dist.local_world_size if dist else 1))
    device = torch.device(device_name)
    params = load_params()
    train = params.train
    size = train.stages[0].image_size
    torch.manual_seed(0)
    model = create_embedder(params.backbone, pretrained=True).to(device)
    frozen = apply_trainable_blocks(model.backbone, train.trainable_blocks)
    per_batch = classes_per_batch(train.batch_size, train.m_per_class, train.non_landmark_per_batch)
    head = GrowingHead([NON_LANDMARK, *[f"l{i}" for i in range(per_batch)]], model.embed_dim).to(device)
    loss_fn = MetricLoss("softmax_centre", head, centre_lambda=train.centre_lambda, centre_alpha=train.centre_alpha,
                         arcface_margin=train.arcface_margin, arcface_scale=train.arcface_scale,
                         centre_reduce=dist.all_reduce_sum if dist else None)
    centres = init_centres(head.num_classes, model.embed_dim).to(device)
    trainable = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=train.weight_decay)
    set_train_mode(model, frozen)
    ddp = wrap_ddp(model, head, dist, device) if dist else None
    rank = dist.rank if dist else 0
    classes = range(1 + rank * per_batch // world, 1 + (rank + 1) * per_batch // world)
    labels = [c for c in classes for _ in range(train.m_per_class)] + [0] * (train.non_landmark_per_batch // world)
    images = torch.randn(len(labels), 3, size, size, generator=torch.Generator().manual_seed(rank)).to(device)
    targets = torch.tensor(labels, device=device)

    def step() -> None:
        train_step(model, loss_fn, optimizer, images, targets, centres, forward=ddp)
        if dist is not None:
            average_running_stats(model, dist)

    for _ in range(warmup):
        step()
    rates = []
    for _ in range(repeats):
        if dist is not None:
            dist.barrier()
        if device.type == "cuda":
            torch.cuda.synchronize()
        began = time.perf_counter()
        for _ in range(steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if dist is not None:
            dist.barrier()
        rates.append(len(labels) * world * steps / (time.perf_counter() - began))
    if rank == 0:
        out.write_text(json.dumps({"photos_per_s": rates, "batch": len(labels) * world, "world": world}))
    shutdown()


def _launch(processes: int, device: str, steps: int, warmup: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rates.json"
        args = ["--worker", str(out), "--device", device, "--steps", str(steps), "--warmup", str(warmup),
                "--repeats", str(repeats)]
        done = subprocess.run(torchrun_argv(processes, "bench.bench_ddp", args), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{processes} processes failed:\n{done.stderr[-3000:]}")
        return dict(json.loads(out.read_text()))


def measure(device: str = "cpu", steps: int = 5, warmup: int = 2, repeats: int = 3) -> list[dict[str, Any]]:
    """One launch with 1 process, one with 2; medians of photos/s over the repeats, and their ratio."""
    one = _launch(1, device, steps, warmup, repeats)
    two = _launch(2, device, steps, warmup, repeats)
    project, baseline = statistics.median(two["photos_per_s"]), statistics.median(one["photos_per_s"])
    return [{
        "figure": f"DDP training step, 2 processes vs 1 ({device}, global batch {one['batch']})",
        "project": project, "baseline": baseline, "ratio": project / baseline, "unit": "photos/s",
        "note": f"threads: {compute_threads()} for 1 process, split between 2; {steps} steps x {repeats}",
    }]


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Worker mode under torchrun (--worker OUT); otherwise run both launches and return the rows."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args([] if argv is None and __name__ != "__main__" else argv)
    if args.worker is not None:
        worker(args.worker, args.device, args.steps, args.warmup, args.repeats)
        return []
    rows = measure(args.device, args.steps, args.warmup, args.repeats)
    for row in rows:
        print(" | ".join(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}" for k, v in row.items()))
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(0 if main() is not None else 1)
