"""How many photos a whitened dimension needs in the cleaning: the graph cleaning
(landmark.cleaning.pipeline) with clean.whiten_photos_per_dim at each value, and without whitening,
on real databases of several sizes and on the sample world.

    python -m research.clean_whitening [--per-landmark 20 50 100 0] [--photos-per-dim 4 8 16]
        [--seeds 0,1,2,3,4] [--out docs/real_results_clean_whitening.md]

Why: the cleaning whitens the frozen features to at most clean.whiten_dim dimensions and at most
N / clean.whiten_photos_per_dim (N photos fitted). With 4 photos a dimension, 10 real landmarks x 50
photos whiten to 125 dimensions and the removal collapses. Near N = 4 d the smallest sample eigenvalues
of the covariance are far below the true ones (Marchenko-Pastur), whitening divides by them, and noise
directions swamp the landmark's own.

Real photos: `real-landmarks` and `more-landmarks`, each landmark subsampled (seeded) to at most
`--per-landmark` photos (0: all), then research.clean_size's noise (one landmark leaves the set and 5%
of the set's size of its photos are filed under the others; 20% of the rest moved to a wrong landmark).
The whitening is fitted on those photos, as the second pass does (the clean stage also fits on the
non-landmark train photos, so its N is larger). Sample world: the clean stage itself
(landmark.stages.clean.run) on make run's split, scored against data/noise_truth.csv; skipped when
artifacts/split/manifest.csv is absent. Precision and recall of the removal against the truth.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from landmark.cleaning.pipeline import clean_landmark_photos
from landmark.cleaning.scoring import inject_noise, removal_scores
from landmark.params import CleanParams, Params, load_params
from landmark.stages.clean import run as run_clean_stage
from research.clean_size import DATASETS, SHARED, frozen_features, real_datasets

log = logging.getLogger("research.clean_whitening")
OFF = "off"


def rule_params(clean: CleanParams, rule: str) -> CleanParams:
    """params.clean with whitening off (`off`) or clean.whiten_photos_per_dim = int(rule)."""
    if rule == OFF:
        return dataclasses.replace(clean, whiten_dim=0)
    return dataclasses.replace(clean, whiten_photos_per_dim=int(rule))


def subsample(labels: np.ndarray, per_landmark: int, seed: int) -> np.ndarray:
    """Row indices: at most `per_landmark` photos of each landmark (seeded; 0 = all), in row order."""
    if per_landmark <= 0:
        return np.arange(labels.size)
    rng = np.random.default_rng(seed)
    keep = [rng.choice(rows, size=min(per_landmark, rows.size), replace=False)
            for rows in (np.flatnonzero(labels == name) for name in np.unique(labels))]
    return np.sort(np.concatenate(keep))


def real_scores(features: np.ndarray, labels: np.ndarray, per_landmark: int, rules: list[str], seed: int,
                clean: CleanParams) -> list[dict[str, object]]:
    """One seed's database (subsample + injected noise), cleaned under every rule."""
    rows = subsample(labels, per_landmark, seed)
    noisy = inject_noise(labels[rows], wrong_fraction=0.2, distractor_landmarks=1, distractor_fraction=0.05,
                         seed=seed)
    emb = features[rows][noisy.rows]
    out: list[dict[str, object]] = []
    for rule in rules:
        result = clean_landmark_photos(emb, noisy.filed, rule_params(clean, rule))
        scores = removal_scores(~result.keep, noisy.is_noise)
        out.append({"photos": len(noisy.rows), "noise": int(noisy.is_noise.sum()), "rule": rule,
                    "dims": int(result.metrics["whiten_dim"]), "removed": int((~result.keep).sum()),
                    "precision": scores["precision"], "recall": scores["recall"], "f1": scores["f1"]})
    return out


def sample_world_scores(params: Params, split: Path, data: Path, rules: list[str]) -> list[dict[str, object]]:
    """The clean stage on make run's split under every rule, scored against the sample world's truth."""
    out: list[dict[str, object]] = []
    for rule in rules:
        with tempfile.TemporaryDirectory() as tmp:
            metrics = run_clean_stage(dataclasses.replace(params, clean=rule_params(params.clean, rule)), split,
                                      Path(tmp), data)
        out.append({"photos": int(metrics["landmark_photos"]), "noise": int(metrics["truth_noise"]), "rule": rule,
                    "dims": int(metrics["whiten_dim"]), "removed": int(metrics["removed_photos"]),
                    "precision": metrics["truth_precision"], "recall": metrics["truth_recall"],
                    "f1": metrics["truth_f1"]})
    return out


def paired_lines(frame: pd.DataFrame, base: str, rules: list[str]) -> list[str]:
    """Per database size: F1 of each rule minus `base`'s, paired by seed."""
    lines = []
    for (name, per), g in frame.groupby(["dataset", "per_landmark"], sort=False):
        wide = g.pivot(index="seed", columns="rule", values="f1")
        for rule in rules:
            if rule == base or rule not in wide:
                continue
            d = wide[rule] - wide[base]
            lines.append(f"- {name}, at most {per or 'all'} photos a landmark, F1 of {rule} minus {base}: mean "
                         f"{d.mean():+.3f}, higher on {int((d > 0).sum())} of {len(d)} seeds, "
                         f"lower on {int((d < 0).sum())}")
    return lines


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-landmark", type=int, nargs="+", default=[20, 50, 100, 0],
                    help="photos a landmark in each database (0 = all)")
    ap.add_argument("--photos-per-dim", type=int, nargs="+", default=[4, 8, 16],
                    help="clean.whiten_photos_per_dim values (whitening off is always beside them)")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--split", type=Path, default=Path("artifacts/split/manifest.csv"),
                    help="make run's split manifest, for the sample world")
    ap.add_argument("--data", type=Path, default=Path("data"), help="the sample world's data folder")
    ap.add_argument("--cache", type=Path, default=Path("artifacts/cache/embeddings"))
    ap.add_argument("--out", type=Path, default=Path("docs/real_results_clean_whitening.md"))
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    began = time.perf_counter()
    params = load_params()
    rules = [str(r) for r in args.photos_per_dim] + [OFF]
    seeds = [int(s) for s in args.seeds.split(",")]
    rows: list[dict[str, object]] = []
    for name, folder, manifest in real_datasets():
        labels = manifest["landmark"].to_numpy(dtype=str)
        features = frozen_features(folder, manifest, params.backbone.image_size, args.cache)
        for per in args.per_landmark:
            for seed in seeds:
                rows += [{"dataset": name, "per_landmark": per, "seed": seed, **r}
                         for r in real_scores(features, labels, per, rules, seed, params.clean)]
            log.info("%s, %s photos a landmark, done at %.0f s", name, per or "all", time.perf_counter() - began)
    if not rows:
        raise SystemExit(f"no dataset of {DATASETS} under {SHARED}")
    frame = pd.DataFrame(rows)
    summary = frame.groupby(["dataset", "per_landmark", "rule"], sort=False)[
        ["photos", "dims", "removed", "precision", "recall", "f1"]].mean()
    world = "skipped: no " + str(args.split)
    if args.split.is_file():
        world = pd.DataFrame(sample_world_scores(params, args.split, args.data, rules)).to_markdown(
            index=False, floatfmt=".3f")
    base = str(params.clean.whiten_photos_per_dim)
    command = "python -m research.clean_whitening " + " ".join(sys.argv[1:] if argv is None else argv)
    text = f"""# Photos a whitened dimension needs in the cleaning (generated by research.clean_whitening)

Command: `{command.strip()}` ({(time.perf_counter() - began) / 60:.1f} min on this 2-core machine). What and why:
the module docstring. Rules: clean.whiten_photos_per_dim = {", ".join(rules[:-1])}, and
`{OFF}` (no whitening); clean.whiten_dim {params.clean.whiten_dim} at most; the rest of params.clean as it is.
Seeds: {args.seeds}. `dims`: the dimensions the whitening kept.

## Real photos, mean over seeds

{summary.reset_index().to_markdown(index=False, floatfmt=".3f")}

## Paired by seed (the same database and noise under every rule), against the default ({base})

{chr(10).join(paired_lines(frame, base, rules))}

## Sample world (the clean stage on make run's split, truth from data/noise_truth.csv)

{world}
"""
    args.out.write_text(text)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
