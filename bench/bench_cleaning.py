"""Benchmarks: cleaning time against database size, and embedding throughput against bare forward.

`python -m bench.bench_cleaning [--sizes 10000,50000,100000,200000] [--photos 96]`
Cleaning: synthetic clustered vectors (100 photos per landmark, 20% scattered noise, D=128), timed
for the full cleaning (whitening, graph, duplicates, difficulty); the ratio is against linear
growth from the smallest size. Embedding: photos/s of embedding.embed (timm) (decode + preprocess in a
DataLoader worker + forward) against the bare model forward on ready tensors, same model, same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from landmark.cleaning.pipeline import clean_landmark_photos
from landmark.models.embedder import create_embedder
from landmark.models.embedding import embed
from landmark.params import load_params

log = logging.getLogger(__name__)


def synthetic(
    n: int, per_landmark: int = 100, dim: int = 128, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(n, dim) L2-normalised clustered vectors and (n,) labels; 20% of photos are scattered noise."""
    rng = np.random.default_rng(seed)
    n_landmarks = max(1, n // per_landmark)
    labels = np.repeat(np.arange(n_landmarks), per_landmark)[:n]
    centres = rng.standard_normal((n_landmarks, dim)).astype(np.float32)
    emb = centres[labels] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    noise = rng.random(n) < 0.2
    emb[noise] = rng.standard_normal((int(noise.sum()), dim)).astype(np.float32) * 1.5
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb, labels.astype(str)


def bench_cleaning(sizes: list[int]) -> list[dict[str, float]]:
    params = dataclasses.replace(load_params().clean, whiten_dim=128)
    rows = []
    for n in sizes:
        emb, labels = synthetic(n)
        start = time.perf_counter()
        result = clean_landmark_photos(emb, labels, params)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "bench": "clean",
                "photos": n,
                "landmarks": n // 100,
                "seconds": seconds,
                "kept_share": float(result.keep.mean()),
            }
        )
    base = rows[0]["seconds"] / rows[0]["photos"]
    for row in rows:
        row["ratio_vs_linear"] = row["seconds"] / (base * row["photos"])
    return rows


def bench_embedding(n_photos: int, image_size: int = 128, batch_size: int = 32) -> list[dict[str, float]]:
    torch.set_num_threads(2)
    cfg = dataclasses.replace(load_params().backbone, embed_dim=0, image_size=image_size)
    model = create_embedder(cfg)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(n_photos):
            path = Path(folder) / f"{i}.png"
            Image.fromarray(rng.integers(0, 255, (image_size, image_size, 3), dtype=np.uint8)).save(path)
            paths.append(path)
        embed(model, paths[:batch_size], preprocessing="timm", batch_size=batch_size, workers=0)  # warm-up
        start = time.perf_counter()
        embed(model, paths, preprocessing="timm", batch_size=batch_size, workers=1)
        pipeline = n_photos / (time.perf_counter() - start)
    x = torch.rand(batch_size, 3, image_size, image_size).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        model(x)
        start = time.perf_counter()
        done = 0
        while done < n_photos:
            model(x)
            done += batch_size
        bare = done / (time.perf_counter() - start)
    return [
        {
            "bench": "embed",
            "photos": n_photos,
            "image_size": image_size,
            "pipeline_photos_s": pipeline,
            "bare_forward_photos_s": bare,
            "ratio": pipeline / bare,
        }
    ]


def _table(rows: list[dict[str, float]]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        lines.append(
            "| "
            + " | ".join(f"{row[k]:.3f}" if isinstance(row[k], float) else str(row[k]) for k in keys)
            + " |"
        )
    return "\n".join(lines)


def main(
    sizes: tuple[int, ...] = (10_000, 50_000, 100_000, 200_000), photos: int = 96
) -> list[dict[str, Any]]:
    """Run both benchmarks, print markdown tables, return rows with figure, project, baseline, ratio."""
    clean_rows = bench_cleaning(list(sizes))
    print(_table(clean_rows))  # noqa: T201 - a bench reports on stdout
    embed_rows = bench_embedding(photos)
    print(_table(embed_rows))  # noqa: T201
    rows: list[dict[str, Any]] = []
    base = clean_rows[0]["seconds"] / clean_rows[0]["photos"]
    for row in clean_rows:
        rows.append(
            {
                "figure": f"clean {row['photos']} photos / {row['landmarks']} landmarks (s)",
                "project": row["seconds"],
                "baseline": base * row["photos"],
                "ratio": row["ratio_vs_linear"],
                "unit": "s",
                "note": "baseline = linear growth from the smallest size",
            }
        )
    for row in embed_rows:
        rows.append(
            {
                "figure": f"embed photos/s at {row['image_size']} px, decode included",
                "project": row["pipeline_photos_s"],
                "baseline": row["bare_forward_photos_s"],
                "ratio": row["ratio"],
                "unit": "photos/s",
                "note": "baseline = bare forward on ready tensors",
            }
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,50000,100000,200000")
    parser.add_argument("--photos", type=int, default=96)
    args = parser.parse_args()
    main(tuple(int(s) for s in args.sizes.split(",")), args.photos)
