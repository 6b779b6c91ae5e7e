"""Photos -> (N, D) embeddings: the one entry (`embed`) behind which backend, batching and cache live.

Backend: a torch `Embedder` (inference mode, channels_last, on `device`) or any `ArrayEmbedder`
(ONNX Runtime, OpenVINO; numpy in, numpy out) -- `embed_batch` hides the difference.
Preprocessing (the two are equal to about 1e-7, not bit for bit, so each caller keeps its own):
- "timm": timm's eval transform on a torch DataLoader (`timm_batches`); the pipeline stages
  (clean, index, evaluate) embed this way, and their outputs depend on it;
- "numpy": the numpy `Preprocessor` with decode threads (`decode_pool`); the recognizer and the
  served model embed this way, without importing torch for an `ArrayEmbedder`.
Cache (optional): rows keyed by content sha256 + `model_identity` (`embedding_cache`); PIL images
have no content hash and are always embedded. Errors: `errors=None` raises ImageDecodeError naming
the photo; a list of N slots records (kind, "<photo>: <why>") per unusable photo instead and leaves
its row zero. No state is shared between calls: the served model calls this from many threads.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from PIL import Image

from landmark.hashing import file_sha256
from landmark.models.decode_pool import Photo, Preprocessor, iter_batches
from landmark.models.embedding_cache import model_identity, read_cache, write_cache

if TYPE_CHECKING:
    from landmark.models.array_embedder import ArrayEmbedder
    from landmark.models.embedder import Embedder

log = logging.getLogger(__name__)
Preprocessing = Literal["timm", "numpy"]
PhotoErrors = list[tuple[str, str] | None]
Progress = Callable[[int], None]
RowsFn = Callable[[Sequence[Photo], Progress | None], np.ndarray]  # photos -> (M, D), in their order


def output_width(model: Embedder | ArrayEmbedder) -> int:
    """Columns of the model's rows: its embedding, plus a torch Embedder's frozen view when it carries one."""
    return int(getattr(model, "output_dim", model.embed_dim))


def embed_batch(model: Embedder | ArrayEmbedder, x: np.ndarray, device: str = "cpu") -> np.ndarray:
    """Either backend: (B, 3, H, W) float32 -> (B, D) float32, L2-normalised."""
    from landmark.models.array_embedder import ArrayEmbedder

    if isinstance(model, ArrayEmbedder):
        return model.embed_batch(x)
    import torch

    with torch.inference_mode():
        batch = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)
        return model(batch.contiguous(memory_format=torch.channels_last)).float().cpu().numpy()


def content_sha256(photo: Photo) -> str | None:
    """sha256 of a photo's encoded bytes (a file or bytes); None for a PIL image (no stable content)."""
    if isinstance(photo, Image.Image):
        return None
    if isinstance(photo, bytes):
        return hashlib.sha256(photo).hexdigest()
    return file_sha256(photo)


class _Checked:
    """For iter_batches over positions: prepare(i) decodes photo i, or records (kind, why) it cannot be
    used in errors[i] and returns a black (S, S, 3) uint8 image. Each call writes only its own slot,
    so decode threads share the list safely."""

    def __init__(self, photos: Sequence[Photo], pre: Preprocessor, errors: PhotoErrors) -> None:
        self.photos, self.pre, self.errors = photos, pre, errors

    def prepare(self, i: int) -> np.ndarray:
        from landmark.data.images import ImageDecodeError, load_rgb

        photo = self.photos[i]
        name = f"row {i}" if isinstance(photo, bytes) else str(photo)
        try:
            if isinstance(photo, bytes):
                return self.pre.prepare(load_rgb(photo, name=name))
            if not isinstance(photo, Image.Image) and Path(photo).is_dir():
                raise ImageDecodeError(f"{photo}: is a folder, not a photo")
            return self.pre.prepare(photo)
        except ImageDecodeError as exc:
            self.errors[i] = (exc.kind, str(exc) if name in str(exc) else f"{name}: {exc}")
        except OSError as exc:
            self.errors[i] = ("unreadable", f"{name}: {exc}")
        return np.zeros((self.pre.size, self.pre.size, 3), dtype=np.uint8)

    def normalise(self, batch: np.ndarray) -> np.ndarray:
        return self.pre.normalise(batch)


def _batches(
    model: Embedder | ArrayEmbedder, photos: Sequence[Photo], preprocessing: Preprocessing, batch_size: int,
    workers: int, image_size: int | None, errors: PhotoErrors | None,
) -> Iterator[tuple[Sequence[int], np.ndarray]]:
    """(positions in `photos`, (B, 3, H, W) float32) in input order."""
    if preprocessing == "timm":
        if errors is not None:
            raise ValueError("per-photo error reports need preprocessing='numpy'")
        from landmark.models.timm_batches import timm_batches

        yield from timm_batches(photos, model.data_config, batch_size, workers, image_size)
        return
    pre = Preprocessor(model.data_config, image_size)
    if errors is None:
        yield from iter_batches(photos, pre, batch_size, workers)
    else:
        yield from iter_batches(range(len(photos)), _Checked(photos, pre, errors), batch_size, workers)  # type: ignore[arg-type]


def embed(
    model: Embedder | ArrayEmbedder,
    photos: Sequence[Photo],
    *,
    preprocessing: Preprocessing,
    batch_size: int,
    workers: int,
    device: str = "cpu",
    cache_dir: Path | None = None,
    errors: PhotoErrors | None = None,
    progress: Progress | None = None,
    image_size: int | None = None,
    rows: RowsFn | None = None,
) -> np.ndarray:
    """Photos (paths, encoded bytes or PIL images) -> (N, D) float32, L2-normalised, in input order.

    workers: decode threads ("numpy") or DataLoader processes ("timm"); 0 decodes in this thread.
    cache_dir: read rows of photos this model embedded before and append the new ones.
    errors: None raises ImageDecodeError naming the photo; else a list of N Nones, filled with
    (kind, message) for each unusable photo, whose row is left zero. progress(n) after each batch.
    rows: embeds the photos the cache does not hold elsewhere (landmark.compute shards them over
    workers): rows(photos, progress) -> (M, D); None embeds them here, batch by batch.
    """
    if rows is not None and errors is not None:
        raise ValueError("per-photo error reports need rows=None (photos embedded in this process)")
    width = output_width(model)
    out = np.zeros((len(photos), width), dtype=np.float32)
    if not len(photos):
        return out
    todo = list(range(len(photos)))
    shas: list[str | None] = []
    folder: Path | None = None
    if cache_dir is not None:
        folder = Path(cache_dir) / model_identity(model)
        shas = [content_sha256(p) for p in photos]
        cached = read_cache(folder)
        todo = []
        for i, sha in enumerate(shas):
            row = cached.get(sha) if sha is not None else None
            if row is not None and row.shape == (width,):
                out[i] = row
            else:
                todo.append(i)
        log.info("embedding cache %s: %d of %d photos cached", folder, len(photos) - len(todo), len(photos))
    if not todo:
        return out
    subset = photos if len(todo) == len(photos) else [photos[i] for i in todo]
    sub_errors: PhotoErrors | None = None if errors is None else [None] * len(subset)
    if rows is not None:
        out[todo] = rows(subset, progress)
    else:
        from landmark.models.array_embedder import ArrayEmbedder

        if not isinstance(model, ArrayEmbedder):
            model.eval().to(device)
        for done, batch in _batches(model, subset, preprocessing, batch_size, workers, image_size, sub_errors):
            out[[todo[j] for j in done]] = embed_batch(model, batch, device)
            if progress is not None:
                progress(len(done))
    if errors is not None and sub_errors is not None:
        for j, error in enumerate(sub_errors):
            if error is not None:
                errors[todo[j]] = error
                out[todo[j]] = 0.0
    if folder is not None:
        fresh = [i for i in todo if shas[i] is not None and (errors is None or errors[i] is None)]
        if fresh:
            write_cache(folder, [str(shas[i]) for i in fresh], out[fresh])
    return out
