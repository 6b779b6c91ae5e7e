"""Stage train@K (dvc.yaml: foreach over train.stages): one curriculum stage.
`python -m landmark.stages.train --stage K`.

Reads artifacts/clean/manifest.csv (+ artifacts/train/stage_{K-1}/ for K > 1), trains, and writes
artifacts/train/stage_K/: model.pt + model.json, head.pt, classes.json, centres.pt, checkpoints/,
metrics.json, curves.png. Rerunning after a crash resumes from checkpoints/last.pt.

`train.processes: N` > 1: the script replaces itself by torchrun with N processes on this machine
(the DVC cmd stays the same); under torchrun (started by this script or by hand, across machines)
every rank trains its slice of each batch and rank 0 alone writes the outputs and logs to MLflow.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

import torch

from landmark import layout
from landmark.data.manifest import read_manifest
from landmark.env import apply_offline_env, threads_per_process
from landmark.models.checkpoint import load_embedder, save_embedder
from landmark.models.embedder import Embedder
from landmark.params import Params, load_params
from landmark.registry.tracking import log_artifact_safe, log_metrics_safe, stage_run
from landmark.training.curriculum import class_order, stage_rows
from landmark.training.curriculum_run import start_stage
from landmark.training.curves import plot_curves
from landmark.training.distributed import (
    DistContext,
    init_from_env,
    relaunch_under_torchrun,
    shutdown,
    under_torchrun,
)
from landmark.training.head import GrowingHead
from landmark.training.sampler import check_shardable, classes_per_batch
from landmark.training.trainer import TrainResult, train_stage

log = logging.getLogger("landmark.stages.train")


def start_point(
    params: Params, stage: int, prev: Path, classes: list[str]
) -> tuple[Embedder, GrowingHead, torch.Tensor]:
    """Stage 1: the pretrained embedder and a fresh head; stage K: stage K-1's model, head and centres
    read from `prev` and grown with the new classes (curriculum_run.start_stage)."""
    if stage == 1:
        return start_stage(params.backbone, params.train, stage, classes, None)
    if not (prev / "model.pt").is_file():
        raise FileNotFoundError(f"{prev / 'model.pt'}: stage {stage - 1} has not finished; run it first")
    model = load_embedder(prev / "model.pt")
    old = torch.load(prev / "centres.pt", map_location="cpu", weights_only=True)
    return start_stage(params.backbone, params.train, stage, classes, (model, GrowingHead.load(prev / "head.pt"), old))


def write_outputs(result: TrainResult, out: Path, stage: int, n_photos: int) -> dict[str, object]:
    """model.pt/.json, head.pt, classes.json, centres.pt, metrics.json, curves.png in `out`."""
    final = result.history[-1] if result.history else {}
    metrics = {
        "stage": stage,
        "classes": result.head.num_classes,
        "photos": n_photos,
        "epochs": len(result.history),
        "resumed_from_epoch": result.resumed_from,
        **{k: v for k, v in final.items() if k != "epoch"},
        "history": result.history,
    }
    save_embedder(result.model, out / "model.pt", extra={"stage": stage, "classes": result.head.num_classes})
    result.head.save(out / "head.pt")
    torch.save(result.centres.detach().cpu(), out / "centres.pt")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    plot_curves(result.history, out / "curves.png", title=f"train_{stage}")
    return metrics


def run(
    stage: int,
    params: Params,
    manifest: Path,
    data_root: Path,
    out: Path,
    prev: Path,
    device: str,
    dist: DistContext | None = None,
) -> dict[str, object]:
    """Train curriculum stage `stage` and write its outputs; returns the metrics (rank 0; the other
    ranks of a multi-process run train alongside and return {})."""
    if not 1 <= stage <= len(params.train.stages):
        raise ValueError(f"--stage must be 1..{len(params.train.stages)} (train.stages), got {stage}")
    stage_params = params.train.stages[stage - 1]
    rows = stage_rows(read_manifest(manifest), stage, params.train.curriculum)
    torch.manual_seed(params.train.seed + stage)  # the neck's initialisation: reruns start identically
    model, head, centres = start_point(params, stage, prev, class_order(rows))
    labels = head.index(rows["landmark"].tolist()).tolist()
    log.info("stage %d: %d photos, %d classes, device %s", stage, len(rows), head.num_classes, device)
    out.mkdir(parents=True, exist_ok=True)
    logged = {
        **{f"train.{k}": v for k, v in dataclasses.asdict(params.train).items() if k != "stages"},
        **{f"stage.{k}": v for k, v in dataclasses.asdict(stage_params).items()},
        "backbone.name": params.backbone.name,
        "stage": stage,
    }
    if dist is not None and not dist.is_main:
        train_stage(model, head, centres, data_root, rows["path"].tolist(), labels, params.train, stage_params,
                    device, checkpoint_dir=out / "checkpoints", dist=dist)
        return {}
    with stage_run(f"train_{stage}", logged):
        result = train_stage(
            model,
            head,
            centres,
            data_root,
            rows["path"].tolist(),
            labels,
            params.train,
            stage_params,
            device,
            checkpoint_dir=out / "checkpoints",
            on_epoch=lambda m: log_metrics_safe(m, step=int(m["epoch"])),
            dist=dist,
        )
        metrics = write_outputs(result, out, stage, len(rows))
        log_metrics_safe({f"final_{k}": v for k, v in metrics.items() if isinstance(v, int | float)})
        for name in (
            "curves.png",
            "metrics.json",
            "model.pt",
            "model.json",
            "head.pt",
            "classes.json",
            "centres.pt",
        ):
            log_artifact_safe(
                out / name, artifact_path="model" if name.startswith(("model", "head", "cl", "ce")) else None
            )
    return metrics


def check_processes(params: Params, path: Path) -> int:
    """The number of training processes: torchrun's WORLD_SIZE under torchrun (started by hand, e.g.
    across machines), else `train.processes`; ValueError when they cannot share a batch evenly."""
    train = params.train
    if train.processes < 1:
        raise ValueError(f"{path}: train.processes must be >= 1, got {train.processes}")
    world = int(os.environ["WORLD_SIZE"]) if under_torchrun() else train.processes
    if world != train.processes:
        log.warning("torchrun started %d processes, train.processes is %d: each batch is shared by %d",
                    world, train.processes, world)
    per_batch = classes_per_batch(train.batch_size, train.m_per_class, train.non_landmark_per_batch)
    check_shardable(train.batch_size, train.m_per_class, train.non_landmark_per_batch, per_batch, world)
    return world


def main(argv: list[str] | None = None) -> None:
    """CLI: --stage K [--device cpu|cuda] [--params P] [--manifest M] [--data-root D] [--out O]."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", type=int, required=True)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--manifest", type=Path, default=layout.CLEAN / "manifest.csv")
    parser.add_argument("--data-root", type=Path, default=layout.DATA)
    parser.add_argument("--out", type=Path, default=None, help="default artifacts/train/stage_K")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: LANDMARK_THREADS, else the cores this process may use)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    apply_offline_env()
    params = load_params(args.params)
    world = check_processes(params, args.params)
    if world > 1 and not under_torchrun():
        relaunch_under_torchrun(world, "landmark.stages.train", sys.argv[1:] if argv is None else argv)
    dist, device = init_from_env(args.device) if world > 1 else (None, args.device)
    if dist is not None and not dist.is_main:
        logging.getLogger().setLevel(logging.WARNING)  # one copy of the progress lines
    local_ranks = dist.local_world_size if dist else 1
    torch.set_num_threads(args.threads or threads_per_process(local_ranks))
    out = args.out or layout.train_stage_dir(args.stage)
    prev = out.parent / f"stage_{args.stage - 1}"
    try:
        run(args.stage, params, args.manifest, args.data_root, out, prev, device, dist)
    finally:
        shutdown()


if __name__ == "__main__":
    main()
