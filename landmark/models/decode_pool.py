"""Decode and resize photos in a thread pool while the network runs: batches of ready arrays.

PIL releases the GIL while it decodes and resizes, so threads overlap decoding with the network
(ONNX Runtime and torch release it too). Preprocessing reproduces the model's timm eval transform
(`landmark.models.transforms.eval_transform`: resize the shorter side to size / crop_pct, centre
crop, scale to [0, 1], normalise) but normalises a whole batch at once in numpy.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from landmark.data.images import load_rgb

Photo = Image.Image | str | Path | bytes  # bytes: the encoded file (a served request's photo)
_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
             "nearest": Image.Resampling.NEAREST, "lanczos": Image.Resampling.LANCZOS,
             "box": Image.Resampling.BOX, "hamming": Image.Resampling.HAMMING}


class Preprocessor:
    """A model's eval preprocessing split in two: per photo (decode, resize, crop) and per batch.

    data_config: timm data config (input_size, mean, std, interpolation, crop_pct);
    image_size overrides the input size (square).
    """

    def __init__(self, data_config: dict[str, Any], image_size: int | None = None) -> None:
        mode = data_config.get("crop_mode", "center") or "center"
        if mode != "center":
            raise ValueError(f"Preprocessor supports crop_mode 'center' only, got {mode!r}")
        self.size = int(image_size or data_config["input_size"][-1])
        self.scale = math.floor(self.size / float(data_config.get("crop_pct", 0.875) or 0.875))
        self.resample = _RESAMPLE[str(data_config.get("interpolation", "bilinear"))]
        mean = np.asarray(data_config["mean"], dtype=np.float32)
        std = np.asarray(data_config["std"], dtype=np.float32)
        self._mul = (1.0 / (255.0 * std)).astype(np.float32)  # x/255 - mean) / std = x*mul + add
        self._add = (-mean / std).astype(np.float32)

    def prepare(self, photo: Photo) -> np.ndarray:
        """One photo (PIL image, path or encoded bytes, decoded with load_rgb) -> (size, size, 3) uint8,
        resized and cropped."""
        image = photo.convert("RGB") if isinstance(photo, Image.Image) else load_rgb(photo)
        width, height = image.size
        short, long = (width, height) if width <= height else (height, width)
        new_long = int(self.scale * long / short)
        new_w, new_h = (self.scale, new_long) if width <= height else (new_long, self.scale)
        if (new_w, new_h) != (width, height):
            image = image.resize((new_w, new_h), self.resample)
        top = int(round((new_h - self.size) / 2.0))
        left = int(round((new_w - self.size) / 2.0))
        image = image.crop((left, top, left + self.size, top + self.size))
        return np.asarray(image, dtype=np.uint8)

    def normalise(self, batch: np.ndarray) -> np.ndarray:
        """(B, size, size, 3) uint8 -> (B, 3, size, size) float32, normalised with the model's mean/std."""
        out = batch.astype(np.float32) * self._mul + self._add
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2))

    def __call__(self, photos: Sequence[Photo]) -> np.ndarray:
        """Photos -> (N, 3, size, size) float32, in this thread."""
        if not photos:
            return np.zeros((0, 3, self.size, self.size), dtype=np.float32)
        return self.normalise(np.stack([self.prepare(p) for p in photos]))


def iter_batches(
    photos: Sequence[Photo],
    preprocessor: Preprocessor,
    batch_size: int = 32,
    workers: int = 2,
    prefetch: int = 2,
) -> Iterator[tuple[range, np.ndarray]]:
    """Yield (rows, (B, 3, size, size) float32) in input order; up to `prefetch` batches decode ahead.

    workers: decode threads (0 = decode in the calling thread). A photo that cannot be decoded
    raises ImageDecodeError (naming the file) when its batch is reached.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be > 0, got {batch_size}")
    starts = range(0, len(photos), batch_size)
    if workers <= 0:
        for start in starts:
            chunk = photos[start : start + batch_size]
            ready = np.stack([preprocessor.prepare(p) for p in chunk])
            yield range(start, start + len(chunk)), preprocessor.normalise(ready)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        pending: deque[tuple[range, list[Future[np.ndarray]]]] = deque()
        upcoming = iter(starts)

        def submit() -> None:
            start = next(upcoming, None)
            if start is not None:
                chunk = photos[start : start + batch_size]
                pending.append((range(start, start + len(chunk)),
                                [pool.submit(preprocessor.prepare, p) for p in chunk]))

        for _ in range(max(1, prefetch)):
            submit()
        while pending:
            rows, futures = pending.popleft()
            submit()
            try:
                batch = np.stack([f.result() for f in futures])
            except BaseException:
                for _, later in pending:
                    for f in later:
                        f.cancel()
                raise
            yield rows, preprocessor.normalise(batch)
