"""Batch embedding of photos: DataLoader workers decode, the model embeds, a cache skips known photos.

The cache is keyed by the photo's content (sha256 of the file bytes) and the model's identity (hash
of its meta and every weight), so renaming a file costs nothing and a rerun embeds only new photos.
Cache layout: `<cache_dir>/<model_id>/<shard>.npz` with arrays `sha256` (M,) str and `emb` (M, D)
float32; each call that embeds something appends one shard (written atomically).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from landmark.data.images import load_rgb
from landmark.hashing import file_sha256  # noqa: F401 - callers import it from here too
from landmark.models.array_embedder import ArrayEmbedder
from landmark.models.embedder import Embedder
from landmark.models.transforms import eval_transform

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


class _PhotoDataset(Dataset):
    """(index, (3,H,W) tensor) per photo path, decoded with load_rgb."""

    def __init__(self, paths: Sequence[Path], transform) -> None:  # type: ignore[no-untyped-def]
        self.paths = list(paths)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor]:
        return i, self.transform(load_rgb(self.paths[i]))


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


@torch.inference_mode()
def _embed_batch(model: Embedder | ArrayEmbedder, batch: torch.Tensor, device: str | torch.device) -> np.ndarray:
    batch = batch.to(device).contiguous(memory_format=torch.channels_last)
    return model(batch).float().cpu().numpy()


def _read_cache(folder: Path) -> dict[str, np.ndarray]:
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


def _write_cache(folder: Path, shas: list[str], emb: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.npz"
    tmp = folder / f".{name}.tmp.npz"
    np.savez(tmp, sha256=np.asarray(shas, dtype=str), emb=emb.astype(np.float32))
    os.replace(tmp, folder / name)


def embed_paths(
    model: Embedder | ArrayEmbedder,
    paths: Sequence[Path],
    *,
    batch_size: int = 32,
    num_workers: int = 1,
    device: str | torch.device = "cpu",
    cache_dir: Path | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Embed photo files, in input order: (N, D) float32, L2-normalised.

    With cache_dir, photos whose content (sha256) was embedded before by the same model are read
    from the cache and only the others go through the model. Raises ImageDecodeError naming the file
    for an undecodable photo.
    """
    paths = [Path(p) for p in paths]
    out = np.zeros((len(paths), model.embed_dim), dtype=np.float32)
    if not paths:
        return out
    todo = list(range(len(paths)))
    shas: list[str] = []
    folder: Path | None = None
    if cache_dir is not None:
        folder = Path(cache_dir) / model_identity(model)
        shas = [file_sha256(p) for p in paths]
        cached = _read_cache(folder)
        todo = []
        for i, sha in enumerate(shas):
            row = cached.get(sha)
            if row is not None and row.shape == (model.embed_dim,):
                out[i] = row
            else:
                todo.append(i)
        log.info("embedding cache %s: %d of %d photos cached", folder, len(paths) - len(todo), len(paths))
    if todo:
        transform = eval_transform(model.data_config)
        loader = DataLoader(
            _PhotoDataset([paths[i] for i in todo], transform),
            batch_size=batch_size,
            num_workers=num_workers,
            worker_init_fn=_worker_init if num_workers > 0 else None,
            shuffle=False,
        )
        model.eval().to(device)
        bar = tqdm(total=len(todo), desc="embed", unit="photo", disable=not progress)
        for idx, batch in loader:
            rows = [todo[int(j)] for j in idx]
            out[rows] = _embed_batch(model, batch, device)
            bar.update(len(rows))
        bar.close()
        if folder is not None:
            _write_cache(folder, [shas[i] for i in todo], out[todo])
    return out


def embed_images(
    model: Embedder,
    images: list[Image.Image],
    *,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    image_size: int | None = None,
) -> np.ndarray:
    """Embed in-memory PIL photos (converted to RGB): (N, D) float32, L2-normalised, in input order."""
    out = np.zeros((len(images), model.embed_dim), dtype=np.float32)
    transform = eval_transform(model.data_config, image_size)
    model.eval().to(device)
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        batch = torch.stack([transform(im.convert("RGB")) for im in chunk])
        out[start : start + len(chunk)] = _embed_batch(model, batch, device)
    return out
