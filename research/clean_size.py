"""Which image size the first cleaning pass should see: the graph cleaning (landmark.cleaning.pipeline,
params.clean) on frozen features at each size, on the real photos with injected noise.

    python -m research.clean_size [--sizes 128 224] [--seeds 0,1,...] [--out docs/real_results_clean_size.md]

Why: the clean stage embeds at `backbone.image_size`; moving that from 128 to 224 px lowered the
removal precision on the sample world (0.607 -> 0.558, docs/evaluation.md), whose photos are 128 px
renders. Here the same question on real photos: `real-landmarks` (128 px) and `more-landmarks` (up to
256 px), each with its own noise (landmark.cleaning.scoring.inject_noise, as research.clean_real: one
landmark leaves the set and 5% of the set's size of its photos are filed under the others; 20% of the
rest are moved to a wrong landmark), the same noise at every size. Frozen backbone as the clean stage
uses it (params.backbone, pooled features, no head). Precision and recall of the removal against the
injected truth, per dataset, size and seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from landmark.cleaning.pipeline import clean_landmark_photos
from landmark.cleaning.scoring import inject_noise, removal_scores
from landmark.models.embedder import create_embedder
from landmark.models.embedding import embed
from landmark.params import load_params

log = logging.getLogger("research.clean_size")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATASETS = ("real-landmarks", "more-landmarks")


def real_datasets() -> Iterator[tuple[str, Path, pd.DataFrame]]:
    """(name, folder, manifest) of each DATASETS folder under ../shared/data that is there (a warning for
    each one that is not)."""
    for name in DATASETS:
        folder = SHARED / name
        if not (folder / "manifest.csv").is_file():
            log.warning("%s: absent, skipped", folder)
            continue
        yield name, folder, pd.read_csv(folder / "manifest.csv", dtype=str)


def frozen_features(folder: Path, manifest: pd.DataFrame, size: int, cache: Path) -> np.ndarray:
    """(N, C) L2-normalised pooled features of the frozen backbone at `size` px (the clean stage's view)."""
    backbone = dataclasses.replace(load_params().backbone, embed_dim=0, image_size=size)
    return embed(create_embedder(backbone), [folder / p for p in manifest["path"]], preprocessing="timm",
                 batch_size=32, workers=1, cache_dir=cache)


def seed_scores(features: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, float | int]:
    """First-pass removal precision / recall on one seed's injected noise."""
    noisy = inject_noise(labels, wrong_fraction=0.2, distractor_landmarks=1, distractor_fraction=0.05, seed=seed)
    first = clean_landmark_photos(features[noisy.rows], noisy.filed, load_params().clean)
    scores = removal_scores(~first.keep, noisy.is_noise)
    return {"photos": len(noisy.rows), "noise": int(noisy.is_noise.sum()), "removed": int((~first.keep).sum()),
            "precision": scores["precision"], "recall": scores["recall"]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 224])
    ap.add_argument("--seeds", default="0,1,2,3,4,5,6,7,8,9")
    ap.add_argument("--cache", type=Path, default=Path("artifacts/cache/embeddings"))
    ap.add_argument("--out", type=Path, default=Path("docs/real_results_clean_size.md"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    began = time.perf_counter()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name, folder, manifest in real_datasets():
        labels = manifest["landmark"].to_numpy(dtype=object)
        for size in args.sizes:
            features = frozen_features(folder, manifest, size, args.cache)
            rows += [{"dataset": name, "size": size, "seed": s, **seed_scores(features, labels, s)} for s in seeds]
            log.info("%s at %d px done at %.0f s", name, size, time.perf_counter() - began)
    if not rows:
        raise SystemExit(f"no dataset of {DATASETS} under {SHARED}")
    frame = pd.DataFrame(rows)
    summary = frame.groupby(["dataset", "size"])[["removed", "precision", "recall"]].agg(["mean", "std"])
    summary.columns = [f"{a} {b}" for a, b in summary.columns]
    summary.index = [f"{name} at {size} px" for name, size in summary.index]
    lines = []
    for name, g in frame.groupby("dataset", sort=False):
        wide = g.pivot(index="seed", columns="size", values=["precision", "recall"])
        base = min(args.sizes)
        for size in args.sizes:
            if size == base:
                continue
            for metric in ("precision", "recall"):
                d = wide[(metric, size)] - wide[(metric, base)]
                lines.append(f"- {name}, {metric} at {size} minus {base} px: mean {d.mean():+.3f}, higher on "
                             f"{int((d > 0).sum())} of {len(d)} seeds, lower on {int((d < 0).sum())}")
    command = "python -m research.clean_size " + " ".join(sys.argv[1:] if argv is None else argv)
    text = f"""# The first cleaning pass at each image size, on real photos (generated by research.clean_size)

Command: `{command.strip()}` ({(time.perf_counter() - began) / 60:.1f} min on this 2-core machine). What and why:
the module docstring. Seeds: {args.seeds}. params.clean as it is (whitening {load_params().clean.whiten_dim},
edge similarity {load_params().clean.edge_similarity}, k {load_params().clean.k}).

## Mean and std over seeds

{summary.to_markdown(floatfmt='.3f')}

## Paired by seed (the same injected noise at each size)

{chr(10).join(lines)}

## Per seed

{frame.to_markdown(index=False, floatfmt='.3f')}
"""
    args.out.write_text(text)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
