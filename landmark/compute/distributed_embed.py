"""Embedding extraction on the active engine: the stages' `embed`, sharded over Dask workers.

`embed_photos` takes exactly `embedding.embed`'s arguments. On the local engine it *is* `embed`. On
Dask, `embed` still reads and appends the embedding cache here; only the photos the cache lacks go out
as contiguous shards (a multiple of batch_size long, so every batch holds the same photos as in the
local path), one task each, gathered back by position. The model is broadcast to the workers once
per engine (`Engine.share`): each worker process deserialises it once and every shard task on that
worker uses that one copy (`model_deliveries` counts the copies a worker received). An ONNX Runtime
embedder travels as its recipe and reopens its file there (OnnxEmbedder.__reduce__). Photos must be
readable at the same path on every worker (a shared filesystem; paths are sent absolute).
Workers decode in the task's own thread (DataLoader workers=0): the worker processes are the
parallelism, each running torch on LANDMARK_THREADS threads (landmark.compute.engine).
"""

from __future__ import annotations

import functools
import logging
import pickle
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from landmark.compute.engine import CHUNKS_PER_WORKER, Engine, active_engine, chunk_bounds
from landmark.env import compute_threads
from landmark.models.decode_pool import Photo
from landmark.models.embedding import Preprocessing, Progress, embed, output_width
from landmark.models.embedding_cache import model_identity

if TYPE_CHECKING:
    from landmark.models.array_embedder import ArrayEmbedder
    from landmark.models.embedder import Embedder

log = logging.getLogger(__name__)
MAX_SHARD_PHOTOS = 2048  # a lost worker costs at most this much rework per shard it held

# per worker process: model identity -> (last model object seen, distinct objects received)
_RECEIVED: dict[str, tuple[weakref.ref[object], int]] = {}


def embed_photos(
    model: Embedder | ArrayEmbedder,
    photos: Sequence[Photo],
    *,
    preprocessing: Preprocessing,
    batch_size: int,
    workers: int,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    image_size: int | None = None,
) -> np.ndarray:
    """Photos -> (N, D) float32, L2-normalised, in input order, on the active engine (see module doc).
    workers: the local path's DataLoader processes / decode threads (Dask workers decode in-task)."""
    engine = active_engine()
    rows = None
    if engine.distributed:
        rows = functools.partial(_embed_on_engine, engine, model, preprocessing, batch_size, image_size)
    return embed(model, photos, preprocessing=preprocessing, batch_size=batch_size, workers=workers,
                 cache_dir=cache_dir, progress=progress, image_size=image_size, rows=rows)


def shard_bounds(n: int, batch_size: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous [start, stop) shards of n photos: a few per worker, at most MAX_SHARD_PHOTOS each
    (rounded up to whole batches), each a multiple of batch_size long but the last."""
    chunks = max(CHUNKS_PER_WORKER * workers, -(-n // MAX_SHARD_PHOTOS))
    return chunk_bounds(n, chunks, multiple=max(1, batch_size))


def _absolute(photo: Photo) -> Photo:
    return Path(photo).absolute() if isinstance(photo, str | Path) else photo


def _embed_on_engine(
    engine: Engine,
    model: Embedder | ArrayEmbedder,
    preprocessing: Preprocessing,
    batch_size: int,
    image_size: int | None,
    photos: Sequence[Photo],
    progress: Progress | None,
) -> np.ndarray:
    """The photos' (M, D) rows, one Dask task per shard; a shard whose worker died is rerun by Dask."""
    assert engine.client is not None
    identity = model_identity(model)
    try:
        ref = engine.share(f"landmark-model-{identity}", model)
    except (TypeError, AttributeError, pickle.PicklingError) as exc:
        raise TypeError(f"{model!r} cannot be sent to Dask workers ({exc}); use compute.engine: local") from exc
    bounds = shard_bounds(len(photos), batch_size, engine.workers)
    futures = [
        engine.client.submit(embed_shard, ref, identity, [_absolute(p) for p in photos[a:b]], preprocessing,
                             batch_size, image_size, pure=False)
        for a, b in bounds
    ]
    if progress is not None:
        from distributed import as_completed

        sizes = {f.key: b - a for f, (a, b) in zip(futures, bounds, strict=True)}
        for done in as_completed(futures):
            progress(sizes[done.key])
    parts = engine.client.gather(futures)
    width = output_width(model)  # + the frozen view's columns when it carries one
    out = np.concatenate(parts) if parts else np.zeros((0, width), np.float32)
    if out.shape != (len(photos), width):  # every photo exactly once, or fail loudly
        raise RuntimeError(f"dask embedding: got {out.shape} rows for {len(photos)} photos")
    log.info("embedded %d photos in %d shards on %d dask workers", len(photos), len(bounds), engine.workers)
    return out


def embed_shard(
    model: Embedder | ArrayEmbedder,
    identity: str,
    photos: list[Photo],
    preprocessing: Preprocessing,
    batch_size: int,
    image_size: int | None,
) -> np.ndarray:
    """Runs on a worker: one shard's (n, D) rows with the worker's copy of the model."""
    _note_model(model, identity)
    return embed(model, photos, preprocessing=preprocessing, batch_size=batch_size, workers=0,
                 image_size=image_size)


def _note_model(model: object, identity: str) -> None:
    last = _RECEIVED.get(identity)
    if last is not None and last[0]() is model:
        return
    _RECEIVED[identity] = (weakref.ref(model), (last[1] if last else 0) + 1)
    from landmark.models.array_embedder import ArrayEmbedder

    if not isinstance(model, ArrayEmbedder):  # first use of this copy on this worker: its torch threads
        import torch

        torch.set_num_threads(compute_threads())


def model_deliveries() -> dict[str, int]:
    """In a worker process (client.run): model identity -> distinct copies of that model it received."""
    return {identity: count for identity, (_, count) in _RECEIVED.items()}
