"""Embedding throughput on the Dask engine: 2 worker processes vs 1, in the same run (landmark.compute).

The stages' path: `embed_photos` with timm preprocessing, params.backbone (tf_efficientnet_lite0,
ImageNet weights, 128 px pooled features, as the clean stage embeds), batch params.embed.batch_size,
no cache. Each LocalCluster is started the way params.yaml `compute` starts it (cores // workers
torch threads per worker process, one task at a time each), warmed up (workers import torch and
receive the model once), then timed on the same photos, the three engines interleaved per repeat.
Figures, all in this run:
  * photos/s with 2 workers against 1 worker (the scaling of the engine on this machine's cores);
  * photos/s with 1 Dask worker against the local engine in this process (the engine's overhead:
    shipping shards, decode in the task thread instead of a DataLoader process).
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from landmark.compute.distributed_embed import embed_photos
from landmark.compute.engine import LOCAL, activate, open_engine
from landmark.env import compute_threads, threads_per_process
from landmark.models.embedder import Embedder, frozen_embedder
from landmark.params import ComputeParams, load_params

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("LANDMARK_REAL_DATA", REPO.parent / "shared" / "data" / "real-landmarks"))
N_PHOTOS, REPEATS = 256, 5


def _embed(model: Embedder, paths: list[Path], batch_size: int, workers: int) -> float:
    """Seconds of one `embed_photos` of `paths` on the active engine."""
    start = time.perf_counter()
    embed_photos(model, paths, preprocessing="timm", batch_size=batch_size, workers=workers)
    return time.perf_counter() - start


def main() -> list[dict[str, Any]]:
    params = load_params(REPO / "params.yaml")
    paths = sorted((REAL / "images").glob("*.png"))[:N_PHOTOS]
    if not paths:
        raise FileNotFoundError(f"{REAL}/images: no photos (set LANDMARK_REAL_DATA)")
    model = frozen_embedder(params.backbone)
    batch, loaders = params.embed.batch_size, params.embed.num_workers
    torch.set_num_threads(compute_threads())
    with contextlib.ExitStack() as stack:
        engines = {"local": LOCAL}
        for workers in (1, 2):
            engines[f"dask{workers}"] = stack.enter_context(
                open_engine(ComputeParams(engine="dask", address="", workers=workers)))
        for engine in engines.values():  # warm-up: workers import torch and receive the model once
            with activate(engine):
                _embed(model, paths[: 2 * batch], batch, loaders)
        seconds: dict[str, list[float]] = {name: [] for name in engines}
        for _ in range(REPEATS):  # interleaved, so a change in the machine's load hits every engine alike
            for name, engine in engines.items():
                with activate(engine):
                    seconds[name].append(_embed(model, paths, batch, loaders))
    rates = {name: len(paths) / statistics.median(s) for name, s in seconds.items()}
    log.info("engine bench: %s photos/s", {k: round(v, 1) for k, v in rates.items()})
    cores = compute_threads()
    return [
        {
            "figure": f"embedding photos/s, Dask 2 workers x {threads_per_process(2)} threads vs 1 worker x "
                      f"{threads_per_process(1)} ({len(paths)} real photos, lite0 128 px, {cores} cores)",
            "project": round(rates["dask2"], 1),
            "baseline": round(rates["dask1"], 1),
            "ratio": round(rates["dask2"] / rates["dask1"], 2),
        },
        {
            "figure": "embedding photos/s, Dask 1 worker vs the local engine in this process (engine overhead)",
            "project": round(rates["dask1"], 1),
            "baseline": round(rates["local"], 1),
            "ratio": round(rates["dask1"] / rates["local"], 2),
        },
    ]
