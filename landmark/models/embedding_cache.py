"""The embedding cache: rows keyed by a photo's content (sha256) under the model's identity.

`model_identity` hashes the model's meta (minus `extra`), data config and every tensor, so equal
models share rows and a retrained model or another export variant never reads a stale one.
Layout: `<cache_dir>/<model_id>/<shard>.npz` with arrays `sha256` (M,) str and `emb` (M, D) float32;
each call that embeds something appends one shard, written atomically. No torch import here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from landmark.models.array_embedder import ArrayEmbedder
    from landmark.models.embedder import Embedder

log = logging.getLogger(__name__)


def model_identity(model: Embedder | ArrayEmbedder) -> str:
    """A short hash of the model's meta (minus `extra`) and all its tensors: equal models, equal ids."""
    digest = hashlib.sha256()
    meta = {k: v for k, v in model.meta.items() if k != "extra"}
    digest.update(json.dumps(meta, sort_keys=True, default=str).encode())
    digest.update(json.dumps(model.data_config, sort_keys=True, default=str).encode())
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:24]


def read_cache(folder: Path) -> dict[str, np.ndarray]:
    """sha256 -> (D,) float32 row for every readable shard in `folder` (unreadable shards are skipped)."""
    cached: dict[str, np.ndarray] = {}
    if not folder.is_dir():
        return cached
    for shard in sorted(folder.glob("*.npz")):
        try:
            with np.load(shard, allow_pickle=False) as data:
                for sha, row in zip(data["sha256"].tolist(), data["emb"], strict=True):
                    cached[str(sha)] = row
        except (OSError, ValueError, KeyError) as exc:
            log.warning("embedding cache shard %s unreadable, ignored: %s", shard, exc)
    return cached


def write_cache(folder: Path, shas: list[str], emb: np.ndarray) -> None:
    """Append one shard: shas (M,) hex digests, emb (M, D) float32."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.npz"
    tmp = folder / f".{name}.tmp.npz"
    np.savez(tmp, sha256=np.asarray(shas, dtype=str), emb=emb.astype(np.float32))
    os.replace(tmp, folder / name)
